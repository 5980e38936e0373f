"""Time buckets (hour, weekday, day, week, month) of a UTC column in a project's time zone.

The period is cut into segments of constant UTC offset (computed here with ``zoneinfo``) and
each row is shifted by its segment's offset, so a bucket is right on both sides of a
daylight-saving change. SQLite has no time zones; PostgreSQL has, but shifting by a fixed
offset (``AT TIME ZONE INTERVAL``) skips the zone's rule lookup per row, a third of the time
a day series over 150,000 orders takes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, case, cast, func, literal
from sqlalchemy.sql import ColumnElement

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SERIES_GRAINS = ("day", "week", "month")


@lru_cache(maxsize=256)
def offset_segments(
    timezone: str, start: datetime, end: datetime
) -> tuple[tuple[datetime, int], ...]:
    """``((segment end, UTC offset in seconds), ...)`` covering [start, end); the last
    segment ends at ``end``. Transitions are found day by day, then to the second; cached, as
    a query asks again for the same spans (each SELECT of it, each time it is run)."""
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
    return tuple(segments)


def bucket(
    dialect: str,
    grain: str,
    column: ColumnElement[Any],
    timezone: str,
    start: datetime,
    end: datetime,
) -> ColumnElement[Any]:
    """SQL for the ``grain`` bucket of ``column`` in ``timezone``, for rows in [start, end)."""
    segments = offset_segments(timezone, start, end)
    if dialect == "postgresql":
        shifts = [(until, literal(timedelta(seconds=offset))) for until, offset in segments]
    else:
        shifts = [(until, literal(f"{offset:+d} seconds")) for until, offset in segments]
    # Only the shift depends on the row's daylight-saving segment.
    shift = shifts[-1][1]
    if len(shifts) > 1:
        shift = case(*((column < until, each) for until, each in shifts[:-1]), else_=shift)
    if dialect == "postgresql":
        local = func.timezone(shift, column)
        if grain == "hour":
            return cast(func.extract("hour", local), Integer)
        if grain == "weekday":
            return cast(func.extract("isodow", local), Integer) - 1
        if grain == "day":
            return cast(local, Date)
        return cast(func.date_trunc(grain, local), Date)
    if grain == "hour":
        return cast(func.strftime("%H", column, shift), Integer)
    if grain == "weekday":
        return (cast(func.strftime("%w", column, shift), Integer) + 6) % 7
    if grain == "week":
        return func.date(column, shift, "weekday 0", "-6 days")
    if grain == "month":
        return func.date(column, shift, "start of month")
    return func.date(column, shift)


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
