"""The one polarity scorer of customers' text, so a message has the same sentiment wherever it is
shown: stored on a message (``plugins.messages``) and in the assistant's offline analysis.

VADER (``vaderSentiment``: a lexicon and rules tuned for short social-media text, with negation
and intensifiers, shipped in its wheel, so it works offline) gives a compound score from -1
(most negative) to 1 (most positive); the label uses VADER's own cut-offs. The lexicon is
English: a text in another language, or with no word the lexicon knows, scores 0 and is
``neutral``. VADER is imported on first use: every ``nebulo`` command loads the plugins.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

LABELS = ("positive", "neutral", "negative")
POSITIVE_FROM = 0.05
NEGATIVE_UP_TO = -0.05
"""VADER's documented cut-offs: a compound score between them is neutral."""


SHOP_WORDS = {
    "late": -1.5,
    "slow": -1.3,
    "waiting": -0.8,
    "issue": -1.0,
    "overcharged": -2.0,
    "stale": -1.5,
    "refund": -0.8,
    "fast": 1.2,
    "quick": 1.2,
}
"""Words of shop messages VADER's social-media lexicon does not score ("my order is late"
was neutral), on its -4 to 4 scale, next to its own "delayed" (-0.9) and "missing" (-1.2)."""


@dataclass(frozen=True)
class Sentiment:
    """A compound score from -1 to 1 and its label."""

    score: float
    label: str


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    """Loaded once per process (the lexicon is read from the wheel, about 25 ms)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(SHOP_WORDS)
    return analyzer


def label_of(score: float) -> str:
    """One of :data:`LABELS` for a compound score."""
    positive, neutral, negative = LABELS
    if score >= POSITIVE_FROM:
        return positive
    return negative if score <= NEGATIVE_UP_TO else neutral


def score_text(text: str) -> Sentiment | None:
    """The compound score and label of ``text``; ``None`` when it has no text to judge."""
    if not text or not text.strip():
        return None
    score = float(_analyzer().polarity_scores(text)["compound"])
    return Sentiment(score, label_of(score))
