"""The one polarity scorer: labels of clear messages, negation, VADER's cut-offs, no text, and
VADER loaded only when something is scored."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.sentiment import NEGATIVE_UP_TO, POSITIVE_FROM, label_of, score_text


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Thank you so much, the cake was perfect and the delivery super fast!", "positive"),
        ("My order arrived broken. Terrible service, I am very disappointed.", "negative"),
        ("Where is my order #1042?", "neutral"),
        ("Hola, ¿dónde está mi pedido?", "neutral"),
    ],
)
def test_clear_messages_get_their_label_and_a_score_of_the_same_sign(text, label):
    scored = score_text(text)
    assert scored.label == label
    if label == "positive":
        assert 0.5 < scored.score <= 1
    elif label == "negative":
        assert -1 <= scored.score < -0.5
    else:
        assert scored.score == 0


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Where is my order? It is late!", "negative"),
        ("Still waiting for my refund, this is so slow", "negative"),
        ("Quick delivery, thanks", "positive"),
        ("The delivery was not late", "positive"),
    ],
)
def test_shop_words_vader_does_not_know_are_scored(text, label):
    assert score_text(text).label == label


def test_negation_turns_the_polarity_around():
    assert score_text("The cake was good").label == "positive"
    assert score_text("The cake was not good").label == "negative"
    assert score_text("The delivery was not bad at all").label == "positive"


def test_the_labels_follow_vaders_cut_offs():
    assert label_of(POSITIVE_FROM) == "positive"
    assert label_of(NEGATIVE_UP_TO) == "negative"
    assert label_of((POSITIVE_FROM + NEGATIVE_UP_TO) / 2) == "neutral"


@pytest.mark.parametrize("text", ["", "   \n"])
def test_a_text_without_words_is_not_scored(text):
    assert score_text(text) is None


def test_vader_is_imported_only_when_a_text_is_scored():
    probe = (
        "import sys\n"
        "import assistant.services, plugins.messages.models, plugins.messages.sentiment\n"
        "from core.sentiment import score_text\n"
        "print('vaderSentiment' in sys.modules)\n"
        "score_text('fine')\n"
        "print('vaderSentiment' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
