"""Seed 004's statistics over visits, in the project's time zone: visit counts per bucket and
the shares of body types, genders, age bands and emotions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.context import Context
from core.db import utcnow
from core.metrics.buckets import bucket, bucket_value
from core.metrics.engine import project_timezone
from plugins.persons.models import Visit

AGE_BANDS = ("0-17", "18-30", "31-50", "51+")
AGE_BAND = case(
    (Visit.age.is_(None), None),
    (Visit.age < 18, "0-17"),
    (Visit.age <= 30, "18-30"),
    (Visit.age <= 50, "31-50"),
    else_="51+",
)
SHARE_COLUMNS = {
    "body-type": Visit.body_type,
    "gender": Visit.gender,
    "emotion": Visit.emotion,
    "age": AGE_BAND,
}


def _counts(
    session: Session, ctx: Context, grain: str, start: datetime, end: datetime, zone: str
) -> dict[Any, int]:
    """Visits per ``grain`` bucket (an hour of the day or a local date) in [start, end)."""
    key = bucket(session.get_bind().dialect.name, grain, Visit.entry_time, zone, start, end)
    rows = session.execute(
        select(key, func.count())
        .where(
            Visit.project_id == ctx.project_id,
            Visit.entry_time >= start,
            Visit.entry_time < end,
        )
        .group_by(key)
    )
    return {bucket_value(grain, value): count for value, count in rows}


def visit_counts(
    session: Session, ctx: Context, kind: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Visits per hour (``last_6_hours``, ``day``: today) or per day (``week``, ``month``:
    the last 7 or 30 days up to today), every bucket listed even when empty."""
    zone = project_timezone(session, ctx.project_id)
    local_now = (now or utcnow()).astimezone(ZoneInfo(zone))
    if kind in ("last_6_hours", "day"):
        this_hour = local_now.replace(minute=0, second=0, microsecond=0)
        if kind == "day":
            first = this_hour.replace(hour=0)
            hours = [first + timedelta(hours=n) for n in range(this_hour.hour + 1)]
        else:
            hours = [this_hour - timedelta(hours=n) for n in range(5, -1, -1)]
        end = this_hour + timedelta(hours=1)
        counts = _counts(session, ctx, "hour", hours[0], end, zone)
        return [
            {"date": moment.strftime("%Y-%m-%dT%H:00"), "value": counts.get(moment.hour, 0)}
            for moment in hours
        ]
    span = 7 if kind == "week" else 30
    today = local_now.date()
    days = [today - timedelta(days=n) for n in range(span - 1, -1, -1)]
    start = _local_midnight(days[0], zone)
    end = _local_midnight(today + timedelta(days=1), zone)
    counts = _counts(session, ctx, "day", start, end, zone)
    return [{"date": day.isoformat(), "value": counts.get(day, 0)} for day in days]


def _local_midnight(day: date, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))


def visit_shares(session: Session, ctx: Context, kind: str) -> list[dict[str, Any]]:
    """Visits by body type, gender, emotion or age band: emotions as counts (``value``), the
    others as percentages of the visits where the camera reported that attribute."""
    column = SHARE_COLUMNS[kind]
    rows = session.execute(
        select(column, func.count())
        .where(Visit.project_id == ctx.project_id, column.is_not(None))
        .group_by(column)
        .order_by(func.count().desc(), column)
    ).all()
    if kind == "emotion":
        return [{"type": value, "value": count} for value, count in rows]
    total = sum(count for _, count in rows)
    return [{"type": value, "percentage": round(100 * count / total, 1)} for value, count in rows]
