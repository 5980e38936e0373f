"""Urgency, concerns and the tone to answer in, for a customer message (offline).

The sentiment label and score are :mod:`core.sentiment`'s (VADER, with negation and
intensifiers), the ones the message gets when it is stored, so the analysis never contradicts
the message list. Concerns come from topic keywords; urgency from urgent words, exclamation
marks, shouting (mostly capitals) and how negative the message is.
"""

from __future__ import annotations

import re
from typing import Any

from core.sentiment import Sentiment, label_of, score_text

URGENT = {
    "urgent",
    "urgently",
    "asap",
    "immediately",
    "now",
    "today",
    "emergency",
    "tomorrow",
    "lawyer",
    "chargeback",
    "dispute",
    "fraud",
    "police",
    "deadline",
}
CONCERNS = {
    "delivery delay": (
        "late",
        "delay",
        "delayed",
        "waiting",
        "still",
        "arrive",
        "arrived",
        "shipping",
        "delivery",
    ),
    "order status": ("status", "where", "tracking", "track", "shipped", "order"),
    "damaged item": ("broken", "damaged", "defective", "cracked", "scratched"),
    "wrong item": ("wrong", "incorrect", "different", "mistake"),
    "missing item": ("missing", "lost", "incomplete"),
    "refund": ("refund", "money", "reimburse", "chargeback"),
    "cancellation": ("cancel", "cancellation"),
    "payment": ("charged", "payment", "card", "invoice", "billing", "paid"),
    "product quality": ("quality", "poor", "cheap", "useless"),
    "customer service": ("nobody", "ignored", "answer", "respond", "support", "reply"),
}
WORD_RE = re.compile(r"[a-z']+")
VERY_NEGATIVE = -0.75
"""A compound score this low (a message of several complaints) is as urgent as an urgent word;
any other negative one counts half as much."""


def _tokens(text: str) -> list[str]:
    return WORD_RE.findall(text.lower().replace("’", "'"))


def _urgency(text: str, tokens: set[str], scored: Sentiment) -> str:
    points = 2 * len(tokens & URGENT) + text.count("!")
    if scored.score <= VERY_NEGATIVE:
        points += 2
    elif scored.label == "negative":
        points += 1
    letters = [c for c in text if c.isalpha()]
    if len(letters) > 10 and sum(c.isupper() for c in letters) / len(letters) > 0.6:
        points += 2
    return "high" if points >= 3 else "medium" if points >= 1 else "low"


def analyze(text: str) -> dict[str, Any]:
    """``sentiment``, ``score``, ``urgency``, ``concerns`` and ``recommended_tone`` of a
    customer message."""
    scored = score_text(text) or Sentiment(0.0, label_of(0.0))
    tokens = set(_tokens(text))
    concerns = [name for name, words in CONCERNS.items() if tokens & set(words)]
    if scored.label == "positive":
        concerns = [c for c in concerns if c not in ("order status", "delivery delay")]
    urgency = _urgency(text, tokens, scored)
    if scored.label == "negative":
        tone = "empathetic and proactive" if urgency == "high" else "empathetic and helpful"
    elif scored.label == "positive":
        tone = "warm and appreciative"
    else:
        tone = "clear and helpful"
    return {
        "sentiment": scored.label,
        "score": scored.score,
        "urgency": urgency,
        "concerns": concerns,
        "recommended_tone": tone,
    }
