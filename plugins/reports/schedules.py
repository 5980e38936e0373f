"""Schedules: a report type a project wants daily, weekly or monthly.

A schedule is due at the local midnight that ends its period; every worker's periodic tick
(``run_periodic``) claims due schedules (:func:`core.scheduler.claim_due`) and enqueues one
job per claimed schedule in the same transaction, so a schedule runs once per period however
many workers tick. The job generates the report for the period just ended with the
permissions the schedule's creator had.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from core.context import Context
from core.db import get_scoped, scoped, utcnow
from core.metrics import Period
from core.metrics.engine import project_timezone
from core.projects.models import Project
from core.scheduler import claim_due, next_run_after, period_start
from plugins.reports.models import ReportSchedule
from plugins.reports.sections import check_filter_values, check_filters, sections_of
from plugins.reports.services import named_period

DUE_BATCH = 100


def create_schedule(session: Session, ctx: Context, data: dict[str, Any]) -> ReportSchedule:
    """Ask for ``report_type`` every day, week or month, first after the current one ends."""
    sections_of(data["report_type"])
    filters = check_filters(data["report_type"], data.get("filters") or {})
    check_filter_values(session, ctx, data["report_type"], filters)
    timezone = project_timezone(session, ctx.project_id)
    schedule = ReportSchedule(
        project_id=ctx.project_id,
        report_type=data["report_type"],
        frequency=data["frequency"],
        filters={name: list(values) for name, values in filters.items()},
        permissions=sorted(ctx.permissions),
        next_run_at=next_run_after(data["frequency"], utcnow(), timezone),
        created_by=ctx.user_id,
    )
    session.add(schedule)
    session.flush()
    return schedule


def list_schedules(ctx: Context) -> Select:
    return scoped(ReportSchedule, ctx.project_id).order_by(
        ReportSchedule.created_at, ReportSchedule.id
    )


def delete_schedule(session: Session, ctx: Context, schedule_id: uuid.UUID) -> None:
    schedule = get_scoped(session, ReportSchedule, ctx.project_id, schedule_id, what="Schedule")
    session.execute(delete(ReportSchedule).where(ReportSchedule.id == schedule.id))


def period_before(frequency: str, due: date) -> Period:
    """The day, week or month that ended just before ``due`` (a local day)."""
    last = due - timedelta(days=1)
    return named_period(period_start(frequency, last), last)


def start_due_schedules(session: Session, now: datetime) -> list[uuid.UUID]:
    """Claim the schedules due at ``now`` and enqueue their jobs in this transaction; the
    ids of the jobs. Another worker running this at the same time claims none of them."""
    from core.jobs import enqueue
    from plugins.reports import jobs

    due = session.execute(
        select(ReportSchedule, Project.timezone)
        .join(Project, Project.id == ReportSchedule.project_id)
        .where(ReportSchedule.next_run_at <= now)
        .order_by(ReportSchedule.next_run_at)
        .limit(DUE_BATCH)
    ).all()
    started = []
    for schedule, timezone in due:
        next_run = next_run_after(schedule.frequency, now, timezone)
        if not claim_due(session, ReportSchedule, schedule.id, now, next_run):
            continue
        local_due = schedule.next_run_at.astimezone(ZoneInfo(timezone)).date()
        period = period_before(schedule.frequency, local_due)
        started.append(
            enqueue(
                jobs.run_schedule,
                str(schedule.id),
                period.start.isoformat(),
                period.end.isoformat(),
                project_id=schedule.project_id,
                session=session,
            )
        )
    return started
