"""The period grammar: what people type -> whole days in the project's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.errors import Invalid
from core.metrics.periods import (
    Period,
    parse_period,
    period_text,
    requested_period,
    shift_period,
)

TODAY = date(2025, 11, 12)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("today", date(2025, 11, 12), date(2025, 11, 12)),
        ("Yesterday", date(2025, 11, 11), date(2025, 11, 11)),
        ("this week", date(2025, 11, 10), TODAY),
        ("last week", date(2025, 11, 3), date(2025, 11, 9)),
        ("this month", date(2025, 11, 1), TODAY),
        ("last month", date(2025, 10, 1), date(2025, 10, 31)),
        ("this quarter", date(2025, 10, 1), TODAY),
        ("last quarter", date(2025, 7, 1), date(2025, 9, 30)),
        ("this year", date(2025, 1, 1), TODAY),
        ("last year", date(2024, 1, 1), date(2024, 12, 31)),
        ("March 2019", date(2019, 3, 1), date(2019, 3, 31)),
        ("in february 2024", date(2024, 2, 1), date(2024, 2, 29)),
        ("december", date(2024, 12, 1), date(2024, 12, 31)),
        ("Q3 2025", date(2025, 7, 1), date(2025, 9, 30)),
        ("2023", date(2023, 1, 1), date(2023, 12, 31)),
        ("on Saturday", date(2025, 11, 8), date(2025, 11, 8)),
        ("wednesday", date(2025, 11, 12), date(2025, 11, 12)),
        ("last wednesday", date(2025, 11, 5), date(2025, 11, 5)),
        ("since June 1", date(2025, 6, 1), TODAY),
        ("since 2025-11-01", date(2025, 11, 1), TODAY),
        ("between March 3 and March 9", date(2025, 3, 3), date(2025, 3, 9)),
        ("from 2025-01-01 to 2025-01-31", date(2025, 1, 1), date(2025, 1, 31)),
        ("past 7 days", date(2025, 11, 6), TODAY),
        ("last 2 weeks", date(2025, 10, 30), TODAY),
        ("past 3 months", date(2025, 8, 13), TODAY),
        ("2025-06-01", date(2025, 6, 1), date(2025, 6, 1)),
        ("June 1st", date(2025, 6, 1), date(2025, 6, 1)),
    ],
)
def test_grammar_reads_what_people_type(text, start, end):
    period = parse_period(text, TODAY)
    assert (period.start, period.end) == (start, end)
    assert period.label


@pytest.mark.parametrize(
    "text", ["last wek", "a while ago", "", "between June 1 and", "Q5 2025", "February 30"]
)
def test_unknown_text_is_refused_never_guessed(text):
    with pytest.raises(Invalid) as error:
        parse_period(text, TODAY)
    assert "period" in error.value.errors
    assert "last month" in error.value.errors["period"][0]


def test_a_period_cannot_end_before_it_starts_or_leave_the_supported_years():
    with pytest.raises(Invalid):
        parse_period("between 2025-03-09 and 2025-03-01", TODAY)
    with pytest.raises(Invalid):
        parse_period("March 1800", TODAY)


def test_previous_period_is_the_calendar_unit_before_or_as_many_days_before():
    assert shift_period(parse_period("last month", TODAY), "previous_period") == Period(
        date(2025, 9, 1), date(2025, 9, 30), "September 2025", "month"
    )
    past_week = shift_period(parse_period("past 7 days", TODAY), "previous_period")
    assert (past_week.start, past_week.end) == (date(2025, 10, 30), date(2025, 11, 5))
    quarter = shift_period(parse_period("Q1 2025", TODAY), "previous_period")
    assert (quarter.start, quarter.end) == (date(2024, 10, 1), date(2024, 12, 31))


def test_a_unit_so_far_is_compared_with_the_same_days_of_the_unit_before():
    this_week = parse_period("this week", TODAY)  # Monday to Wednesday
    assert shift_period(this_week, "previous_period") == Period(
        date(2025, 11, 3), date(2025, 11, 5), "the same days of the week of 2025-11-03", "week"
    )
    this_month = shift_period(parse_period("this month", TODAY), "previous_period")
    assert (this_month.start, this_month.end) == (date(2025, 10, 1), date(2025, 10, 12))
    # a month longer than the one before: its last days are compared with the whole month
    march_30 = shift_period(parse_period("this month", date(2025, 3, 30)), "previous_period")
    assert (march_30.start, march_30.end) == (date(2025, 2, 1), date(2025, 2, 28))
    # on the unit's last day it is whole, and so is the unit before
    whole = shift_period(parse_period("this month", date(2025, 11, 30)), "previous_period")
    assert (whole.start, whole.end, whole.label) == (
        date(2025, 10, 1),
        date(2025, 10, 31),
        "October 2025",
    )
    # a follow-up written down from a unit so far reads back as the same days
    again = parse_period(period_text(this_week), date(2030, 1, 1))
    assert (again.start, again.end) == (this_week.start, this_week.end)


def test_same_period_last_year_keeps_the_dates():
    period = shift_period(parse_period("February 2024", TODAY), "previous_year")
    assert (period.start, period.end) == (date(2023, 2, 1), date(2023, 2, 28))
    assert period.label == "February 2023"
    assert shift_period(parse_period("Q3 2026", TODAY), "previous_year").label == "Q3 2025"
    so_far = shift_period(parse_period("this month", TODAY), "previous_year")
    assert (so_far.start, so_far.end, so_far.label) == (
        date(2024, 11, 1),
        date(2024, 11, 12),
        "this month, a year earlier",
    )


def test_the_week_before_that_shifts_the_period_asked_before():
    last_week = parse_period("last week", TODAY)
    before = parse_period("and the week before that?", TODAY, previous=last_week)
    assert (before.start, before.end) == (date(2025, 10, 27), date(2025, 11, 2))
    month_before = parse_period(
        "the month before", TODAY, previous=parse_period("March 2019", TODAY)
    )
    assert (month_before.start, month_before.end) == (date(2019, 2, 1), date(2019, 2, 28))
    with pytest.raises(Invalid):
        parse_period("the week before that", TODAY)


def test_bounds_are_local_midnights_in_utc_across_a_daylight_saving_change():
    period = parse_period("between 2025-03-29 and 2025-03-30", TODAY)
    start, end = period.bounds("Europe/Berlin")
    assert start == datetime(2025, 3, 28, 23, tzinfo=UTC)  # CET, +01:00
    assert end == datetime(2025, 3, 30, 22, tzinfo=UTC)  # CEST, +02:00


def test_a_request_gives_text_or_both_dates():
    assert requested_period(None, date(2025, 1, 1), date(2025, 1, 2), TODAY).days == 2
    with pytest.raises(Invalid):
        requested_period("today", date(2025, 1, 1), None, TODAY)
    with pytest.raises(Invalid):
        requested_period(None, date(2025, 1, 1), None, TODAY)


def test_follow_ups_name_the_period_before_in_other_words():
    last_month = parse_period("last month", TODAY)
    for text in ("a month earlier", "and the one before?", "the period prior"):
        before = parse_period(text, TODAY, previous=last_month)
        assert (before.start, before.kind) == (date(2025, 9, 1), "month")


@pytest.mark.parametrize(
    "text", ["yesterday", "last week", "last month", "Q2 2024", "2023", "past 10 days", "today"]
)
def test_period_text_reads_back_as_the_same_period_and_kind(text):
    period = parse_period(text, TODAY)
    again = parse_period(period_text(period), date(2030, 1, 1))
    assert (again.start, again.end, again.kind) == (period.start, period.end, period.kind)


def test_a_weekend_is_its_saturday_and_sunday():
    last = parse_period("last weekend", TODAY)
    assert (last.start, last.end) == (date(2025, 11, 8), date(2025, 11, 9))
    assert parse_period("this weekend", TODAY).start == date(2025, 11, 15)
