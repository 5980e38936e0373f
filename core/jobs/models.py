"""The ``jobs`` table: what to run, and where it stands."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, Update, update
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

STATUSES = ("queued", "running", "finished", "failed")
MAX_MESSAGE_LENGTH = 500


class Job(Base):
    """One background job: what to run, and where it stands."""

    __tablename__ = "jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    args: Mapped[list] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(String(MAX_MESSAGE_LENGTH), default="")
    result: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]


def own_running_row(job_id: uuid.UUID, attempt: int) -> Update:
    """``UPDATE jobs`` limited to the row while this attempt still owns it."""
    return update(Job).where(Job.id == job_id, Job.status == "running", Job.attempts == attempt)
