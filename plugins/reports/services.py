"""Reports: generate (now or as a job), list, get, delete; the payload is the metrics layer's.

Routes, the assistant tool, the jobs, the scheduler and the CLI call these with a session
and a :class:`~core.context.Context`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete
from sqlalchemy.orm import Session

from core.config import setting
from core.context import Context
from core.db import get_scoped, scoped, utcnow
from core.errors import Invalid
from core.events import publish
from core.metrics import Period
from core.metrics.engine import project_timezone
from core.metrics.periods import explicit_period, month_of
from plugins.reports.models import Report
from plugins.reports.sections import (
    SectionBuilder,
    check_filter_values,
    check_filters,
    sections_of,
)
from plugins.reports.summary import write_summary

Progress = Callable[[int, str], None]


def local_day(value: date | datetime, timezone: str) -> date:
    """A request's day: a date as given, a datetime as the day it falls on in the project."""
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(timezone)).date()
    return value


def report_period(session: Session, ctx: Context, start: date, end: date) -> Period:
    """Whole days from ``start`` to ``end`` in the project's time zone; end before start is
    ``Invalid`` naming ``end_date``."""
    timezone = project_timezone(session, ctx.project_id)
    first, last = local_day(start, timezone), local_day(end, timezone)
    if last < first:
        raise Invalid(
            "A report cannot end before it starts",
            errors={"end_date": [f"{last.isoformat()} is before {first.isoformat()}"]},
        )
    return named_period(first, last)


def named_period(first: date, last: date) -> Period:
    """The days from ``first`` to ``last``, named after the calendar month they make, if any
    (so the previous period is the previous month, not the same number of days)."""
    if first.day == 1 and last == month_of(first.year, first.month).end:
        return month_of(first.year, first.month)
    return explicit_period(first, last)


def build_payload(
    session: Session,
    ctx: Context,
    report_type: str,
    period: Period,
    filters: Mapping[str, tuple[str, ...]],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Every section of ``report_type`` the caller may see, answered by the metrics engine;
    ``total_<metric>`` for each figure that is a count or a sum (seed 001's shape)."""
    specs = sections_of(report_type)
    builder = SectionBuilder(session, ctx, period, filters)
    sections = builder.sections(specs, progress)
    metrics = builder.metrics
    payload: dict[str, Any] = {
        "report_type": report_type,
        "period": period.as_dict(),
        "timezone": project_timezone(session, ctx.project_id),
        "filters": {name: list(values) for name, values in filters.items()},
        "grain": builder.grain,
    }
    for section in sections:
        for name, figure in section["figures"].items():
            if metrics[name].measure in ("count", "sum", "count_distinct"):
                payload.setdefault(f"total_{name}", figure["value"])
    payload["sections"] = sections
    return payload


def create_report(
    session: Session,
    ctx: Context,
    report_type: str,
    period: Period,
    filters: Mapping[str, tuple[str, ...]],
    schedule_id: uuid.UUID | None = None,
    progress: Progress | None = None,
) -> Report:
    """Generate, summarise and store a report; ``report.generated`` is published on commit."""
    payload = build_payload(session, ctx, report_type, period, filters, progress)
    if progress is not None:
        progress(95, "Writing the summary")
    report = Report(
        id=uuid.uuid4(),
        project_id=ctx.project_id,
        report_type=report_type,
        period_start=period.start,
        period_end=period.end,
        filters=payload["filters"],
        summary=write_summary(session, ctx, payload),
        payload=payload,
        generated_at=utcnow(),
        created_by=ctx.user_id,
        schedule_id=schedule_id,
    )
    session.add(report)
    session.flush()
    publish(
        session,
        "report.generated",
        ctx.project_id,
        {
            "report_id": report.id,
            "report_type": report_type,
            "period_start": period.start.isoformat(),
            "period_end": period.end.isoformat(),
            "schedule_id": schedule_id,
        },
    )
    return report


def checked_request(
    session: Session, ctx: Context, data: Mapping[str, Any]
) -> tuple[str, Period, dict[str, tuple[str, ...]]]:
    """The type, period and filters of a generate request, checked before any work."""
    report_type = data["report_type"]
    sections_of(report_type)
    period = report_period(session, ctx, data["start_date"], data["end_date"])
    filters = check_filters(report_type, data.get("filters") or {})
    check_filter_values(session, ctx, report_type, filters)
    return report_type, period, filters


def request_report(session: Session, ctx: Context, data: Mapping[str, Any]) -> Report | uuid.UUID:
    """Generate now, or enqueue a job (its id returned) when the period is longer than
    ``NEBULO_REPORT_JOB_DAYS``."""
    report_type, period, filters = checked_request(session, ctx, data)
    if period.days <= setting("NEBULO_REPORT_JOB_DAYS"):
        return create_report(session, ctx, report_type, period, filters)
    from core.jobs import enqueue
    from plugins.reports import jobs

    return enqueue(
        jobs.generate_report,
        str(ctx.project_id),
        report_type,
        period.start.isoformat(),
        period.end.isoformat(),
        {name: list(values) for name, values in filters.items()},
        sorted(ctx.permissions),
        None if ctx.user_id is None else str(ctx.user_id),
        project_id=ctx.project_id,
        user_id=ctx.user_id,
        session=session,
    )


def list_reports(ctx: Context, args: Mapping[str, Any]) -> Select:
    """The project's reports, newest first, of one type when ``report_type`` is given."""
    statement = scoped(Report, ctx.project_id)
    if args.get("report_type"):
        statement = statement.where(Report.report_type == args["report_type"])
    return statement.order_by(Report.generated_at.desc(), Report.id)


def get_report(session: Session, ctx: Context, report_id: uuid.UUID) -> Report:
    return get_scoped(session, Report, ctx.project_id, report_id, what="Report")


def delete_report(session: Session, ctx: Context, report_id: uuid.UUID) -> None:
    report = get_report(session, ctx, report_id)
    session.execute(delete(Report).where(Report.id == report.id))


def types_overview() -> list[dict[str, Any]]:
    """Each report type with its sections (and plugins) and the filters it accepts."""
    from plugins.reports.sections import report_types, valid_filters

    return [
        {
            "report_type": name,
            "sections": [{"name": s.name, "title": s.title, "plugin": s.plugin} for s in sections],
            "filters": valid_filters(name),
        }
        for name, sections in sorted(report_types().items())
    ]
