"""Periodic work: every worker's maintenance tick asks the plugins what the calendar has due.

Jobs run what someone asked for; some work is asked for by the calendar (a weekly report, a
nightly expiry). Every worker (the in-process pool, each ``nebulo worker``) calls
:func:`run_periodic_tasks` from its maintenance tick
(:func:`core.jobs.maintenance.maintain_jobs`, about once a minute), which calls each plugin's
``run_periodic(now)``. Several workers call it at the same moment, so an implementation claims
each due row with :func:`claim_due` and enqueues its job in the same transaction
(``enqueue(..., session=session)``): the claim and the job commit together or not at all, and a
due row starts once whatever the number of workers.
"""

from __future__ import annotations

import calendar
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from core.db import utcnow

FREQUENCIES = ("daily", "weekly", "monthly")


def run_periodic_tasks(app: Flask) -> None:
    """Call every loaded plugin's ``run_periodic`` once (a failing plugin is logged, skipped)."""
    now = utcnow()
    with app.app_context():
        app.extensions["nebulo"].plugins.call_each("run_periodic", now=now)


def period_start(frequency: str, day: date) -> date:
    """The first day of the day, Monday week or month that holds ``day``."""
    if frequency == "daily":
        return day
    if frequency == "weekly":
        return day - timedelta(days=day.weekday())
    if frequency == "monthly":
        return day.replace(day=1)
    raise ValueError(f"frequency {frequency!r} is not one of {', '.join(FREQUENCIES)}")


def next_period_start(frequency: str, day: date) -> date:
    """The first day of the next day, week or month after the one that holds ``day``."""
    start = period_start(frequency, day)
    if frequency == "daily":
        return start + timedelta(days=1)
    if frequency == "weekly":
        return start + timedelta(days=7)
    return start + timedelta(days=calendar.monthrange(start.year, start.month)[1])


def next_run_after(frequency: str, moment: datetime, timezone: str) -> datetime:
    """The UTC instant of the local midnight that starts the next day, week or month after
    ``moment`` in ``timezone``: when a schedule for the period just ended is due."""
    zone = ZoneInfo(timezone)
    local_day = moment.astimezone(zone).date()
    return datetime.combine(next_period_start(frequency, local_day), time(), zone).astimezone(
        ZoneInfo("UTC")
    )


def claim_due(
    session: Session, model: Any, row_id: uuid.UUID, now: datetime, next_run_at: datetime
) -> bool:
    """Move a due row's ``next_run_at`` on to ``next_run_at``; True for the one caller that did.

    ``UPDATE ... WHERE id = :id AND next_run_at <= :now``: a concurrent caller waits on the
    row (PostgreSQL) or on the database lock (SQLite), then finds it no longer due."""
    claimed = session.execute(
        update(model)
        .where(model.id == row_id, model.next_run_at <= now)
        .values(next_run_at=next_run_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1
