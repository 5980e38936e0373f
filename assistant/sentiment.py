"""A lexicon-based sentiment and urgency classifier for customer messages (offline).

Each word has a polarity; a negator ("not", "never", "n't"...) within the three words before a
word flips it, and intensifiers ("very", "extremely") strengthen it. Concerns come from topic
keywords; urgency from urgent words, anger and exclamation marks.
"""

from __future__ import annotations

import re
from typing import Any

LEXICON = {
    # positive
    "good": 1.0,
    "great": 2.0,
    "excellent": 2.5,
    "amazing": 2.5,
    "love": 2.0,
    "loved": 2.0,
    "happy": 1.5,
    "glad": 1.5,
    "thanks": 1.0,
    "thank": 1.0,
    "perfect": 2.5,
    "fast": 1.0,
    "quick": 1.0,
    "helpful": 1.5,
    "satisfied": 1.5,
    "nice": 1.0,
    "awesome": 2.5,
    "recommend": 1.5,
    "works": 1.0,
    "fine": 0.5,
    "pleased": 1.5,
    "wonderful": 2.5,
    "beautiful": 2.0,
    "appreciate": 1.5,
    "resolved": 1.0,
    # negative
    "bad": -1.5,
    "terrible": -2.5,
    "awful": -2.5,
    "horrible": -2.5,
    "worst": -3.0,
    "hate": -2.5,
    "angry": -2.0,
    "furious": -3.0,
    "disappointed": -2.0,
    "disappointing": -2.0,
    "late": -1.5,
    "delay": -1.5,
    "delayed": -1.5,
    "broken": -2.0,
    "damaged": -2.0,
    "wrong": -1.5,
    "missing": -1.5,
    "lost": -1.5,
    "never": -1.0,
    "refund": -1.0,
    "useless": -2.5,
    "slow": -1.0,
    "problem": -1.5,
    "issue": -1.0,
    "complaint": -2.0,
    "unacceptable": -3.0,
    "scam": -3.0,
    "ridiculous": -2.5,
    "poor": -1.5,
    "upset": -2.0,
    "annoyed": -1.5,
    "frustrated": -2.0,
    "frustrating": -2.0,
    "cancel": -1.0,
    "defective": -2.0,
    "still": -0.5,
    "waiting": -0.5,
    "nobody": -1.0,
    "ignored": -2.0,
    "fraud": -3.0,
}
NEGATORS = {
    "not",
    "no",
    "never",
    "dont",
    "don't",
    "didnt",
    "didn't",
    "isnt",
    "isn't",
    "wasnt",
    "wasn't",
    "cannot",
    "can't",
    "cant",
    "won't",
    "wont",
    "hasnt",
    "hasn't",
    "havent",
    "haven't",
    "without",
    "nothing",
    "neither",
    "nor",
}
INTENSIFIERS = {
    "very": 1.5,
    "really": 1.4,
    "extremely": 2.0,
    "so": 1.3,
    "totally": 1.5,
    "absolutely": 1.8,
    "completely": 1.6,
    "super": 1.5,
}
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


def _tokens(text: str) -> list[str]:
    return WORD_RE.findall(text.lower().replace("’", "'"))


def polarity(text: str) -> float:
    """Sum of word polarities, with negation and intensifiers applied; > 0 positive."""
    tokens = _tokens(text)
    score = 0.0
    for index, token in enumerate(tokens):
        value = LEXICON.get(token)
        if value is None:
            continue
        window = tokens[max(0, index - 3) : index]
        for word in window:
            value *= INTENSIFIERS.get(word, 1.0)
        if any(word in NEGATORS or word.endswith("n't") for word in window) and token != "never":
            value = -value * 0.8
        score += value
    return score


def analyze(text: str) -> dict[str, Any]:
    """``sentiment``, ``urgency``, ``concerns`` and ``recommended_tone`` of a customer message."""
    tokens = set(_tokens(text))
    score = polarity(text)
    sentiment = "positive" if score >= 0.75 else "negative" if score <= -0.75 else "neutral"
    concerns = [name for name, words in CONCERNS.items() if tokens & set(words)]
    if sentiment == "positive":
        concerns = [c for c in concerns if c not in ("order status", "delivery delay")]
    urgency_points = (
        2 * len(tokens & URGENT) + text.count("!") + (2 if score <= -4 else 1 if score < -1 else 0)
    )
    letters = [c for c in text if c.isalpha()]
    if len(letters) > 10 and sum(c.isupper() for c in letters) / len(letters) > 0.6:
        urgency_points += 2
    urgency = "high" if urgency_points >= 3 else "medium" if urgency_points >= 1 else "low"
    if sentiment == "negative":
        tone = "empathetic and proactive" if urgency == "high" else "empathetic and helpful"
    elif sentiment == "positive":
        tone = "warm and appreciative"
    else:
        tone = "clear and helpful"
    return {
        "sentiment": sentiment,
        "score": round(score, 2),
        "urgency": urgency,
        "concerns": concerns,
        "recommended_tone": tone,
    }
