"""The sentiment of customers' messages, scored once when a message is stored.

The score and label come from :mod:`core.sentiment` (VADER), the same scorer as the assistant's
offline analysis. A message with no text (a photo without a caption, a location) is not
scored: its columns stay empty and the sentiment metrics leave it out. Messages stored before
scoring existed are scored by :func:`score_unscored` (``nebulo messages score-sentiment`` or
the job of the same name).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.sentiment import score_text
from plugins.messages.models import Message

BATCH_SIZE = 500


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
