"""Background jobs of the reports plugin: long reports and scheduled ones."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from core.context import Context
from core.db import utcnow
from core.jobs import JobRun
from plugins.reports import services
from plugins.reports.models import ReportSchedule


def generate_report(
    run: JobRun,
    project_id: str,
    report_type: str,
    start: str,
    end: str,
    filters: dict[str, list[str]],
    permissions: list[str],
    user_id: str | None = None,
) -> dict[str, Any]:
    """A report over a long period, with the permissions of the caller who asked for it."""
    ctx = Context(
        project_id=uuid.UUID(project_id),
        permissions=frozenset(permissions),
        user_id=None if user_id is None else uuid.UUID(user_id),
    )
    period = services.named_period(date.fromisoformat(start), date.fromisoformat(end))
    with run.session() as session:
        report = services.create_report(
            session,
            ctx,
            report_type,
            period,
            {name: tuple(values) for name, values in filters.items()},
            progress=run.progress,
        )
        return {"report_id": str(report.id), "report_type": report_type}


def run_schedule(run: JobRun, schedule_id: str, start: str, end: str) -> dict[str, Any]:
    """The report a schedule claimed for the period just ended (nothing if it was deleted)."""
    with run.session() as session:
        schedule = session.get(ReportSchedule, uuid.UUID(schedule_id))
        if schedule is None:
            return {"report_id": None, "reason": "the schedule was deleted"}
        ctx = Context(
            project_id=schedule.project_id,
            permissions=frozenset(schedule.permissions),
            user_id=schedule.created_by,
        )
        period = services.named_period(date.fromisoformat(start), date.fromisoformat(end))
        report = services.create_report(
            session,
            ctx,
            schedule.report_type,
            period,
            {name: tuple(values) for name, values in schedule.filters.items()},
            schedule_id=schedule.id,
            progress=run.progress,
        )
        schedule.last_run_at = utcnow()
        return {"report_id": str(report.id), "report_type": schedule.report_type}
