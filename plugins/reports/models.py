"""The reports plugin's tables. After a change: nebulo db revision --plugin reports."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, IdMixin, ProjectScoped, TimestampMixin, utcnow

TYPE_LENGTH = 40


class Report(IdMixin, ProjectScoped, Base):
    """A generated report: its figures (``payload``) and the paragraph that sums them up."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="end_not_before_start"),
        Index("ix_reports_project_id_generated_at", "project_id", "generated_at"),
    )

    report_type: Mapped[str] = mapped_column(String(TYPE_LENGTH))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("report_schedules.id", ondelete="SET NULL"), index=True
    )


class ReportSchedule(IdMixin, ProjectScoped, TimestampMixin, Base):
    """A report type a project wants daily, weekly or monthly, over the period just ended.

    ``permissions`` are its creator's when it was made: a scheduled report shows what they
    could see then, never more. ``next_run_at`` is claimed by one worker (core.scheduler)."""

    __tablename__ = "report_schedules"

    report_type: Mapped[str] = mapped_column(String(TYPE_LENGTH))
    frequency: Mapped[str] = mapped_column(String(16))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    next_run_at: Mapped[datetime] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
