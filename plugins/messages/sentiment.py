"""The sentiment of customers' messages, scored once when a message is stored.

VADER (``vaderSentiment``: a lexicon and rules tuned for short social-media text, shipped in
its wheel, so it works offline) gives a compound score from -1 (most negative) to 1 (most
positive); the label uses VADER's own cut-offs. The lexicon is English: a message in another
language, or with no word the lexicon knows, scores 0 and is ``neutral``. A message with no
text (a photo without a caption, a location) is not scored: its columns stay empty and the
sentiment metrics leave it out. Messages stored before scoring existed are scored by
:func:`score_unscored` (``nebulo messages score-sentiment`` or the job of the same name).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from plugins.messages.models import SENTIMENT_LABELS, Message

POSITIVE_FROM = 0.05
NEGATIVE_UP_TO = -0.05
"""VADER's documented cut-offs: a compound score between them is neutral."""
BATCH_SIZE = 500


@dataclass(frozen=True)
class Sentiment:
    """A compound score from -1 to 1 and its label."""

    score: float
    label: str


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    """Loaded once per process (the lexicon is read from the wheel, about 25 ms)."""
    return SentimentIntensityAnalyzer()


def label_of(score: float) -> str:
    """One of :data:`SENTIMENT_LABELS` for a compound score."""
    positive, neutral, negative = SENTIMENT_LABELS
    if score >= POSITIVE_FROM:
        return positive
    return negative if score <= NEGATIVE_UP_TO else neutral


def score_text(text: str) -> Sentiment | None:
    """The compound score and label of ``text``; ``None`` when it has no text to judge."""
    if not text or not text.strip():
        return None
    score = float(_analyzer().polarity_scores(text)["compound"])
    return Sentiment(score, label_of(score))


def score_message(message: Message) -> None:
    """Set (or clear) an inbound message's sentiment from its current content; outbound
    messages are ours, not the customer's, and are never scored."""
    if message.direction != "inbound":
        return
    scored = score_text(message.content)
    message.sentiment_score = scored.score if scored else None
    message.sentiment = scored.label if scored else None


def _unscored(project_id: uuid.UUID | None):
    """Inbound messages with text and no sentiment yet (in one project, or all)."""
    condition = (
        (Message.direction == "inbound")
        & Message.sentiment.is_(None)
        & (func.length(Message.content) > 0)
    )
    if project_id is not None:
        condition &= Message.project_id == project_id
    return condition


def count_unscored(session: Session, project_id: uuid.UUID | None = None) -> int:
    return session.scalar(select(func.count()).select_from(Message).where(_unscored(project_id)))


def score_unscored(
    session: Session,
    project_id: uuid.UUID | None = None,
    batch_done: Callable[[int, int], None] | None = None,
) -> int:
    """Score the messages stored before scoring existed, :data:`BATCH_SIZE` at a time, in id
    order; ``batch_done(done, total)`` after each batch is where a caller commits and shows
    progress, so an interrupted run resumes where it stopped. How many were looked at."""
    total = count_unscored(session, project_id)
    done, after = 0, None
    while True:
        statement = select(Message).where(_unscored(project_id)).order_by(Message.id)
        if after is not None:
            statement = statement.where(Message.id > after)
        batch = session.scalars(statement.limit(BATCH_SIZE)).all()
        if not batch:
            return done
        for message in batch:
            score_message(message)
        session.flush()
        done, after = done + len(batch), batch[-1].id
        if batch_done is not None:
            batch_done(min(done, total), total)
