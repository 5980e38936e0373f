"""Periods: one grammar and one type for every date range a person names.

A :class:`Period` is a run of whole days (``start`` and ``end`` both included) in the
project's time zone. :func:`parse_period` reads what people type ("yesterday", "last month",
"Q3 2025", "since June 1", "past 14 days", "between March 3 and March 9", ...);
:func:`shift_period` moves one back ("previous period", "same period last year", "the week
before that"). Text it cannot read is an :class:`~core.errors.Invalid` error naming what it
can read: a period is never guessed.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.errors import Invalid

KINDS = ("day", "week", "month", "quarter", "year", "custom")
COMPARISONS = ("previous_period", "previous_year")
EXAMPLES = (
    "today",
    "yesterday",
    "this week",
    "last month",
    "this quarter",
    "last year",
    "March 2019",
    "Q3 2025",
    "on Saturday",
    "since June 1",
    "between 2025-03-01 and 2025-03-15",
    "past 14 days",
    "2025-06-01",
)
MONTHS = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
}
MONTHS["sept"] = 9
WEEKDAYS = {
    name.lower(): number
    for number in range(7)
    for name in (calendar.day_name[number], calendar.day_abbr[number])
}
FIRST_YEAR, LAST_YEAR = 1900, 2200
UNIT_DAYS = {"day": 1, "days": 1, "week": 7, "weeks": 7}


@dataclass(frozen=True)
class Period:
    """Whole days from ``start`` to ``end`` (both included) in the project's time zone.

    ``kind`` says which calendar unit it is (a ``week`` always starts on a Monday), so that
    the period before "last month" is the month before it, not the 30 days before it."""

    start: date
    end: date
    label: str
    kind: str = "custom"

    def __post_init__(self) -> None:
        if self.start.year < FIRST_YEAR or self.end.year > LAST_YEAR:
            raise Invalid(
                "A period must fall between the years 1900 and 2200",
                errors={"period": [f"{self.start} to {self.end} is out of range"]},
            )
        if self.end < self.start:
            raise Invalid(
                "A period cannot end before it starts",
                errors={"period": [f"{self.end} is before {self.start}"]},
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """UTC instants [first midnight, midnight after the last day) in ``timezone``."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.start, time(), zone).astimezone(UTC)
        end = datetime.combine(self.end + timedelta(days=1), time(), zone).astimezone(UTC)
        return start, end

    def as_dict(self) -> dict[str, str]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "label": self.label,
        }


def today_in(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def day(value: date, label: str | None = None) -> Period:
    return Period(value, value, label or value.isoformat(), "day")


def week_of(value: date, label: str | None = None) -> Period:
    monday = value - timedelta(days=value.weekday())
    sunday = monday + timedelta(days=6)
    return Period(monday, sunday, label or f"week of {monday.isoformat()}", "week")


def month_of(year: int, month: int, label: str | None = None) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period(
        date(year, month, 1),
        date(year, month, last),
        label or f"{calendar.month_name[month]} {year}",
        "month",
    )


def quarter_of(year: int, quarter: int, label: str | None = None) -> Period:
    first_month = 3 * (quarter - 1) + 1
    last_month = first_month + 2
    return Period(
        date(year, first_month, 1),
        date(year, last_month, calendar.monthrange(year, last_month)[1]),
        label or f"Q{quarter} {year}",
        "quarter",
    )


def year_of(year: int, label: str | None = None) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31), label or str(year), "year")


def add_months(value: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the month's last day."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(value.day, calendar.monthrange(year, month)[1]))


def _unit_containing(kind: str, value: date) -> Period:
    if kind == "day":
        return day(value)
    if kind == "week":
        return week_of(value)
    if kind == "month":
        return month_of(value.year, value.month)
    if kind == "quarter":
        return quarter_of(value.year, (value.month - 1) // 3 + 1)
    return year_of(value.year)


def is_partial(period: Period) -> bool:
    """Whether a calendar unit's period stops before the unit's last day ("this month" on
    the 10th)."""
    return period.kind != "custom" and period.end < _unit_containing(period.kind, period.start).end


def is_unit_before(period: Period, other: Period) -> bool:
    """Whether ``other`` is the calendar unit just before ``period``: "last month" named
    after "this month" asks for the comparison, day for day while this month runs."""
    before = shift_period(period, "previous_period")
    return other.kind == period.kind != "custom" and other.start == before.start


def shift_period(period: Period, how: str) -> Period:
    """The period compared with ``period``.

    ``previous_period``: the calendar unit before it (the month before a month; its first
    days only when ``period`` is a unit so far, like "this month"), or as many days just
    before a custom range. ``previous_year``: the same dates a year earlier.
    ``day``/``week``/``month``/``quarter``/``year``: that unit before the one ``period``
    starts in ("the week before that")."""
    if how == "previous_year":
        start, end = add_months(period.start, -12), add_months(period.end, -12)
        if period.kind in ("month", "quarter", "year") and not is_partial(period):
            return _unit_containing(period.kind, start)  # "Q3 2025", not "Q3 2026, a year earlier"
        return Period(start, end, f"{period.label}, a year earlier", period.kind)
    if how == "previous_period":
        if period.kind == "custom":
            end = period.start - timedelta(days=1)
            start = end - timedelta(days=period.days - 1)
            return Period(start, end, f"the {period.days} days before {period.label}", "custom")
        before = _unit_containing(period.kind, period.start - timedelta(days=1))
        if not is_partial(period):
            return before
        # Like for like: "this week" so far (Monday and Tuesday) against last week's Monday
        # and Tuesday, not against all seven days of it.
        end = min(before.start + timedelta(days=period.days - 1), before.end)
        unit = f"the {before.label}" if period.kind == "week" else before.label
        return Period(before.start, end, f"the same days of {unit}", period.kind)
    if how in KINDS[:-1]:
        return _unit_containing(how, _unit_containing(how, period.start).start - timedelta(days=1))
    raise Invalid(
        f"Unknown comparison {how!r}",
        errors={"compare": [f"use one of: {', '.join(COMPARISONS)}"]},
    )


RELATIVE = re.compile(
    r"^(?:and\s+)?(?:what about\s+|how about\s+)?(?:the\s+|a\s+|one\s+)?"
    r"(day|week|month|quarter|year|one|period)\s+(?:before|earlier|prior)"
    r"(?:\s+(?:that|it|this))?\??$"
)


def parse_period(text: str, today: date, previous: Period | None = None) -> Period:
    """The period ``text`` names, with ``today`` in the project's time zone.

    ``previous`` is the period of the question before, for "the week before that"."""
    cleaned = re.sub(r"\s+", " ", text.strip().lower().replace(",", " ")).strip()
    cleaned = re.sub(r"^(?:in|for|during|over) (?:the )?", "", cleaned)
    relative = RELATIVE.match(cleaned)
    if relative:
        if previous is None:
            raise _unknown(text, "'the ... before that' needs a period asked about before")
        unit = relative.group(1)
        return shift_period(previous, "previous_period" if unit in ("one", "period") else unit)
    for reader in READERS:
        period = reader(cleaned, today)
        if period is not None:
            return period
    raise _unknown(text)


def _unknown(text: str, reason: str | None = None) -> Invalid:
    return Invalid(
        f"Unknown period {text!r}",
        errors={"period": [reason or ("it can be, for example: " + "; ".join(EXAMPLES))]},
    )


def _named(text: str, today: date) -> Period | None:
    if text == "today":
        return day(today, "today")
    if text == "yesterday":
        return day(today - timedelta(days=1), "yesterday")
    weekend = re.fullmatch(r"(this|last|previous) weekend", text)
    if weekend:
        week = week_of(today if weekend.group(1) == "this" else today - timedelta(days=7))
        saturday = week.start + timedelta(days=5)
        return Period(saturday, week.end, f"{weekend.group(1)} weekend")
    match = re.fullmatch(r"(this|last|previous) (week|month|quarter|year)", text)
    if not match:
        return None
    current = _unit_containing(match.group(2), today)
    if match.group(1) == "this":  # to date: the days to come hold nothing yet
        return Period(current.start, today, f"this {match.group(2)}", current.kind)
    period = shift_period(current, "previous_period")
    return Period(period.start, period.end, f"last {match.group(2)}", period.kind)


def _rolling(text: str, today: date) -> Period | None:
    match = re.fullmatch(r"(?:the )?(?:past|last|previous) (\d{1,4}) (days?|weeks?|months?)", text)
    if not match:
        return None
    count, unit = int(match.group(1)), match.group(2)
    if count < 1:
        return None
    if unit.startswith("month"):
        start = add_months(today, -count) + timedelta(days=1)
    else:
        start = today - timedelta(days=count * UNIT_DAYS[unit] - 1)
    return Period(start, today, f"past {count} {unit}")


def _calendar(text: str, today: date) -> Period | None:
    match = re.fullmatch(r"q([1-4])(?: (\d{4}))?", text)
    if match:
        return quarter_of(int(match.group(2) or today.year), int(match.group(1)))
    match = re.fullmatch(r"([a-z]+)(?: (\d{4}))?", text)
    if match and match.group(1) in MONTHS:
        month = MONTHS[match.group(1)]
        year = int(match.group(2)) if match.group(2) else today.year
        if not match.group(2) and month > today.month:
            year -= 1  # "March" in January is the March just gone
        return month_of(year, month)
    if re.fullmatch(r"\d{4}", text):
        return year_of(int(text))
    return None


def _weekday(text: str, today: date) -> Period | None:
    match = re.fullmatch(r"(?:on |last )?([a-z]+)", text)
    if not match or match.group(1) not in WEEKDAYS:
        return None
    back = (today.weekday() - WEEKDAYS[match.group(1)]) % 7
    if text.startswith("last ") and back == 0:
        back = 7
    value = today - timedelta(days=back)
    return day(value, f"{calendar.day_name[value.weekday()]} {value.isoformat()}")


def _since(text: str, today: date) -> Period | None:
    match = re.fullmatch(r"since (.+)", text)
    if not match:
        return None
    start = parse_date(match.group(1), today)
    if start is None:
        return None
    return Period(start, max(start, today), f"since {start.isoformat()}")


def _between(text: str, today: date) -> Period | None:
    match = re.fullmatch(r"(?:between|from) (.+?) (?:and|to|until|-) (.+)", text)
    if not match:
        return None
    start, end = parse_date(match.group(1), today), parse_date(match.group(2), today)
    if start is None or end is None:
        return None
    return Period(start, end, f"{start.isoformat()} to {end.isoformat()}")


def _week_of(text: str, today: date) -> Period | None:
    match = re.fullmatch(r"(?:the )?week of (.+)", text)
    value = parse_date(match.group(1), today) if match else None
    return week_of(value) if value is not None else None


def _single_date(text: str, today: date) -> Period | None:
    value = parse_date(re.sub(r"^on ", "", text), today)
    return day(value) if value is not None else None


def parse_date(text: str, today: date) -> date | None:
    """A day from "2025-06-01", "June 1", "1 June", "June 1st 2025" (no year: the last one
    on or before today)."""
    text = re.sub(r"^the ", "", text.strip()).replace(" of ", " ")
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    match = re.fullmatch(r"([a-z]+) (\d{1,2})(?:st|nd|rd|th)?(?: (\d{4}))?", text) or re.fullmatch(
        r"(\d{1,2})(?:st|nd|rd|th)? ([a-z]+)(?: (\d{4}))?", text
    )
    if not match:
        return None
    first, second, year = match.groups()
    month_name, day_number = (first, second) if first.isalpha() else (second, first)
    if month_name not in MONTHS:
        return None
    try:
        value = date(int(year or today.year), MONTHS[month_name], int(day_number))
    except ValueError:
        return None
    if year is None and value > today:
        value = add_months(value, -12)
    return value


READERS = (_named, _rolling, _calendar, _weekday, _since, _between, _week_of, _single_date)


def period_text(period: Period) -> str:
    """Text :func:`parse_period` reads back as ``period`` on any day, its kind kept: how a
    period worked out from an earlier one ("the week before that") is written down."""
    if period.kind == "day":
        return period.start.isoformat()
    if is_partial(period):
        return f"between {period.start.isoformat()} and {period.end.isoformat()}"
    if period.kind == "week":
        return f"week of {period.start.isoformat()}"
    if period.kind == "month":
        return f"{calendar.month_name[period.start.month]} {period.start.year}"
    if period.kind == "quarter":
        return f"Q{(period.start.month - 1) // 3 + 1} {period.start.year}"
    if period.kind == "year":
        return str(period.start.year)
    return f"between {period.start.isoformat()} and {period.end.isoformat()}"


def explicit_period(start: date, end: date) -> Period:
    """A period given as two dates (REST ``start``/``end``)."""
    if start == end:
        return day(start)
    return Period(start, end, f"{start.isoformat()} to {end.isoformat()}")


def requested_period(text: str | None, start: date | None, end: date | None, today: date) -> Period:
    """The period of a request: grammar text, or explicit ``start`` and ``end`` days."""
    if text is not None and (start is not None or end is not None):
        raise Invalid(
            "Give the period as text or as start and end dates, not both",
            errors={"period": ["give either period or start/end"]},
        )
    if text is not None:
        return parse_period(text, today)
    if start is None or end is None:
        raise Invalid(
            "A period is needed",
            errors={"period": ["e.g. " + "; ".join(EXAMPLES[:6]) + ", or start and end dates"]},
        )
    return explicit_period(start, end)
