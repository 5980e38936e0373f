"""Time buckets (hour, weekday, day, week, month) of a UTC column in a project's time zone.

PostgreSQL converts with ``AT TIME ZONE``. SQLite has no time zones: the period is cut into
segments of constant UTC offset (computed here with ``zoneinfo``), and each row is shifted by
its segment's offset, so a bucket is right on both sides of a daylight-saving change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, case, cast, func, literal
from sqlalchemy.sql import ColumnElement

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SERIES_GRAINS = ("day", "week", "month")


def offset_segments(timezone: str, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """``[(segment end, UTC offset in seconds), ...]`` covering [start, end); the last
    segment ends at ``end``. Transitions are found day by day, then to the second."""
    zone = ZoneInfo(timezone)

    def offset(seconds: int) -> int:
        moment = datetime.fromtimestamp(seconds, UTC).astimezone(zone)
        return int(moment.utcoffset().total_seconds())

    last = int(end.timestamp())
    segments: list[tuple[datetime, int]] = []
    cursor = int(start.timestamp())
    current_offset = offset(cursor)
    while cursor < last:
        step = min(cursor + 86400, last)
        if offset(step) == current_offset:
            cursor = step
            continue
        low, high = cursor, step
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if offset(middle) == current_offset else (low, middle)
        if high == last:
            break
        segments.append((datetime.fromtimestamp(high, UTC), current_offset))
        cursor, current_offset = high, offset(high)
    segments.append((end, current_offset))
    return segments


def bucket(
    dialect: str,
    grain: str,
    column: ColumnElement[Any],
    timezone: str,
    start: datetime,
    end: datetime,
) -> ColumnElement[Any]:
    """SQL for the ``grain`` bucket of ``column`` in ``timezone``, for rows in [start, end)."""
    if dialect == "postgresql":
        local = func.timezone(timezone, column)
        if grain == "hour":
            return cast(func.extract("hour", local), Integer)
        if grain == "weekday":
            return cast(func.extract("isodow", local), Integer) - 1
        return cast(func.date_trunc(grain, local), Date)
    segments = offset_segments(timezone, start, end)
    shifts = [(segment_end, literal(f"{offset:+d} seconds")) for segment_end, offset in segments]
    # One strftime per row; only the modifier depends on the row's daylight-saving segment.
    modifier = shifts[-1][1]
    if len(shifts) > 1:
        modifier = case(*((column < until, shift) for until, shift in shifts[:-1]), else_=modifier)
    if grain == "hour":
        return cast(func.strftime("%H", column, modifier), Integer)
    if grain == "weekday":
        return (cast(func.strftime("%w", column, modifier), Integer) + 6) % 7
    if grain == "week":
        return func.date(column, modifier, "weekday 0", "-6 days")
    if grain == "month":
        return func.strftime("%Y-%m-01", column, modifier)
    return func.strftime("%Y-%m-%d", column, modifier)


def bucket_value(grain: str, value: Any) -> Any:
    """The Python value of a bucket as the database returned it: a date, an hour or a
    weekday name."""
    if value is None:
        return None
    if grain == "weekday":
        return WEEKDAY_NAMES[int(value)]
    if grain == "hour":
        return int(value)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def series(grain: str, first: date, last: date) -> list[Any]:
    """Every bucket of ``grain`` between two days, in order: the rows a chart needs even
    where nothing happened."""
    if grain == "hour":
        return list(range(24))
    if grain == "weekday":
        return list(WEEKDAY_NAMES)
    if grain == "day":
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]
    if grain == "week":
        monday = first - timedelta(days=first.weekday())
        return [monday + timedelta(weeks=n) for n in range((last - monday).days // 7 + 1)]
    months = []
    current = first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months
