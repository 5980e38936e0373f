"""Seed 004's statistics over visits: visit counts per bucket and the shares of body types,
genders, age bands and emotions. Every figure is the ``visits`` metric
(:mod:`plugins.persons.metrics`) read through the metrics engine, so these endpoints, the
assistant and ``/api/v1/metrics`` agree, in the project's time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.context import Context
from core.db import utcnow
from core.metrics.engine import project_timezone, run_query
from core.metrics.periods import FIRST_YEAR, LAST_YEAR, Period, explicit_period, parse_period
from core.metrics.query import MetricQuery

SHARE_DIMENSIONS = {
    "body-type": "body_type",
    "gender": "gender",
    "emotion": "emotion",
    "age": "age_band",
}
"""The statistics path of each share and the ``visits`` dimension it groups by."""
DAILY_SPANS = {"week": "past 7 days", "month": "past 30 days"}
ALL_TIME = Period(date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31), "all time")
"""Seed 004's shares cover every visit: the widest period the engine reads."""


def visit_counts(
    session: Session, ctx: Context, kind: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Visits per hour (``last_6_hours``, ``day``: today so far) or per day (``week``,
    ``month``: the last 7 or 30 days up to today), every bucket listed even when empty."""
    zone = project_timezone(session, ctx.project_id)
    local_now = (now or utcnow()).astimezone(ZoneInfo(zone))
    today = local_now.date()
    if kind in DAILY_SPANS:
        query = MetricQuery(("visits",), parse_period(DAILY_SPANS[kind], today), group_by=("day",))
        rows = run_query(session, ctx, query, timezone=zone).rows
        return [{"date": row["day"].isoformat(), "value": row["visits"]} for row in rows]
    this_hour = local_now.replace(minute=0, second=0, microsecond=0)
    if kind == "day":
        hours = [this_hour.replace(hour=hour) for hour in range(this_hour.hour + 1)]
    else:
        hours = [this_hour - timedelta(hours=n) for n in range(5, -1, -1)]
    # Periods are whole local days: the last six hours are the (day, hour) buckets of the
    # days they fall on, which may be yesterday and today.
    query = MetricQuery(
        ("visits",), explicit_period(hours[0].date(), today), group_by=("day", "hour")
    )
    rows = run_query(session, ctx, query, timezone=zone).rows
    counts = {(row["day"], row["hour"]): row["visits"] for row in rows}
    return [
        {
            "date": moment.strftime("%Y-%m-%dT%H:00"),
            "value": counts.get((moment.date(), moment.hour), 0),
        }
        for moment in hours
    ]


def visit_shares(session: Session, ctx: Context, kind: str) -> list[dict[str, Any]]:
    """Visits by body type, gender, emotion or age band, most first: emotions as counts
    (``value``), the others as percentages of the visits where the camera reported that
    attribute."""
    dimension = SHARE_DIMENSIONS[kind]
    query = MetricQuery(("visits",), ALL_TIME, group_by=(dimension,))
    rows = [row for row in run_query(session, ctx, query).rows if row[dimension] is not None]
    if kind == "emotion":
        return [{"type": row[dimension], "value": row["visits"]} for row in rows]
    total = sum(row["visits"] for row in rows)
    return [
        {"type": row[dimension], "percentage": round(100 * row["visits"] / total, 1)}
        for row in rows
    ]
