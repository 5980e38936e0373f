"""The calendar of periodic work: when a daily, weekly or monthly schedule is next due."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.scheduler import next_period_start, next_run_after, period_start


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("frequency", "moment", "due"),
    [
        ("daily", "2025-01-31T10:00:00", "2025-02-01T00:00:00"),
        ("daily", "2025-01-31T23:59:59", "2025-02-01T00:00:00"),
        ("weekly", "2025-01-29T10:00:00", "2025-02-03T00:00:00"),  # a Wednesday
        ("weekly", "2025-02-03T00:00:00", "2025-02-10T00:00:00"),  # on the Monday itself
        ("monthly", "2025-01-31T10:00:00", "2025-02-01T00:00:00"),
        ("monthly", "2024-12-15T00:00:00", "2025-01-01T00:00:00"),
        ("monthly", "2024-02-29T08:00:00", "2024-03-01T00:00:00"),
    ],
)
def test_the_next_run_is_the_midnight_that_ends_the_current_period(frequency, moment, due):
    assert next_run_after(frequency, utc(moment), "UTC") == utc(due)


def test_midnight_is_the_projects_own_across_a_clock_change():
    # Lisbon leaves summer time on 2025-10-26: midnight is 23:00 UTC before, 00:00 after
    assert next_run_after("daily", utc("2025-10-25T12:00:00"), "Europe/Lisbon") == utc(
        "2025-10-25T23:00:00"
    )
    assert next_run_after("daily", utc("2025-10-26T12:00:00"), "Europe/Lisbon") == utc(
        "2025-10-27T00:00:00"
    )
    # 23:30 UTC on Jan 31 is already Feb 1 in Tokyo: the month that ends next is February
    assert next_run_after("monthly", utc("2025-01-31T23:30:00"), "Asia/Tokyo") == utc(
        "2025-02-28T15:00:00"
    )


def test_periods_start_on_the_day_monday_and_first_of_the_month():
    wednesday = date(2025, 1, 29)
    assert period_start("daily", wednesday) == wednesday
    assert period_start("weekly", wednesday) == date(2025, 1, 27)
    assert period_start("monthly", wednesday) == date(2025, 1, 1)
    assert next_period_start("monthly", date(2024, 12, 31)) == date(2025, 1, 1)


def test_an_unknown_frequency_is_refused():
    with pytest.raises(ValueError, match="hourly"):
        period_start("hourly", date(2025, 1, 1))
