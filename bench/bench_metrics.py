"""The metrics engine at scale, on SQLite and PostgreSQL: revenue by day over the past 30
days compared with the 30 days before, in a project on Europe/Berlin time, over 1,000,000
stored orders (``BENCH_METRICS_ORDERS`` changes the size). Targets: < 100 ms on PostgreSQL,
< 300 ms on SQLite, and within 1.2x of the baseline measured in the same run, round by round:
the same two grouped figures by hand-written SQL (checked equal before timing).

The previous 30 days hold Berlin's daylight-saving change of late October, so a day is not one
fixed shift from UTC all period long. On PostgreSQL the hand-written SQL converts with
``AT TIME ZONE``; on SQLite, which has no time zones, it sends one statement per stretch of
constant UTC offset (the fastest correct way we know: a CASE choosing the shift per row costs
more) and adds up the day the change falls on, which both stretches hold.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import sqlalchemy as sa

from bench import Figure, Target
from bench.bench_orders import FILL_POSTGRESQL, FILL_SQLITE, on_both_databases
from core.metrics.buckets import offset_segments
from core.metrics.periods import Period

STORED_ORDERS = int(os.environ.get("BENCH_METRICS_ORDERS", "1000000"))
RUNS = 15
TIMEZONE = "Europe/Berlin"
TARGET_MS = {"PostgreSQL": 100.0, "SQLite": 300.0}
MAX_RATIO = 1.2
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"

HAND_WRITTEN = {
    "postgresql": """
SELECT CAST(date_trunc('day', order_date AT TIME ZONE :tz) AS DATE) AS day,
       sum(total - refunded)
FROM orders
WHERE project_id = :pid AND order_date >= :start AND order_date < :end
  AND status NOT IN ('cancelled', 'refunded') AND NOT is_test AND deleted_at IS NULL
GROUP BY 1""",
    "sqlite": """
SELECT date(order_date, :shift) AS day, sum(total - refunded)
FROM orders
WHERE project_id = :pid AND order_date >= :start AND order_date < :end
  AND status NOT IN ('cancelled', 'refunded') AND NOT is_test AND deleted_at IS NULL
GROUP BY 1""",
}


def _interleaved_ms(runs: int, *actions: Callable[[], object]) -> list[float]:
    """Milliseconds each action takes, the median of ``runs`` rounds that time them one after
    the other (after one untimed round): other work on the machine slows them alike."""
    rounds = []
    for _ in range(runs + 1):
        times = []
        for action in actions:
            started = time.perf_counter()
            action()
            times.append((time.perf_counter() - started) * 1000)
        rounds.append(times)
    return [statistics.median(each) for each in zip(*rounds[1:], strict=True)]


def _hand_written_parameters(dialect: str, project_id: uuid.UUID, period: Period) -> list[dict]:
    """The hand-written statement's parameters for ``period``: one set, or on SQLite one per
    stretch of constant UTC offset, shifted by it."""
    start, end = period.bounds(TIMEZONE)
    if dialect != "sqlite":
        return [{"pid": project_id, "start": start, "end": end, "tz": TIMEZONE}]
    stretches = []
    for until, offset in offset_segments(TIMEZONE, start, end):
        stretches.append(
            {
                "pid": project_id.hex,
                "start": start.strftime(SQLITE_TIME),
                "end": until.strftime(SQLITE_TIME),
                "shift": f"{offset:+d} seconds",
            }
        )
        start = until
    return stretches


def _fill(engine: sa.Engine, project_id: uuid.UUID) -> None:
    """``STORED_ORDERS`` orders spread over the past year, generated inside the database."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        connection.execute(
            sa.text(FILL_POSTGRESQL if postgres else FILL_SQLITE),
            {
                "pid": project_id if postgres else project_id.hex,
                "count": STORED_ORDERS,
                "step": 365 * 86400 / STORED_ORDERS,
            },
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE orders" if postgres else "ANALYZE"))


def _run_backend(name: str, database_url: str) -> list[Figure]:
    from core import migrate
    from core.app import create_app
    from core.config import load_settings
    from core.context import Context
    from core.db import to_money
    from core.metrics.engine import run_query
    from core.metrics.periods import parse_period, shift_period, today_in
    from core.metrics.query import MetricQuery
    from core.projects.models import Project

    settings = load_settings(
        {},
        env="testing",
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
        database_url=database_url,
        log_level="WARNING",
    )
    app = create_app(settings)
    context = app.app_context()
    context.push()
    migrate.upgrade(app)
    state = app.extensions["nebulo"]
    with state.db.session_scope() as session:
        project = Project(name="Bench", timezone=TIMEZONE)
        session.add(project)
        session.flush()
        project_id = project.id
    started = time.perf_counter()
    _fill(state.db.engine, project_id)
    fill_seconds = time.perf_counter() - started

    ctx = Context(project_id=project_id, permissions=frozenset(state.registry.permissions))
    period = parse_period("past 30 days", today_in(TIMEZONE))
    query = MetricQuery(
        metrics=("revenue",), period=period, group_by=("day",), compare="previous_period"
    )
    dialect = state.db.engine.dialect.name
    statement = sa.text(HAND_WRITTEN[dialect])

    def engine_query() -> list[tuple[Decimal, Decimal]]:
        with state.db.sessions() as session:
            result = run_query(session, ctx, query)
        assert len(result.rows) == 30 and result.totals["revenue"] > 0
        return [(row["revenue"], row["revenue_previous"]) for row in result.rows]

    def hand_written() -> list[tuple[Decimal, Decimal]]:
        series = []
        with state.db.sessions() as session:
            for each in (period, shift_period(period, "previous_period")):
                days: Counter = Counter()
                for parameters in _hand_written_parameters(dialect, project_id, each):
                    for day, revenue in session.execute(statement, parameters):
                        days[str(day)] += revenue
                assert len(days) == 30
                series.append([to_money(Decimal(days[day]) / cents) for day in sorted(days)])
        return list(zip(*series, strict=True))

    cents = 100 if dialect == "sqlite" else 1
    assert engine_query() == hand_written(), "the baseline computes other figures"
    engine_ms, hand_ms = _interleaved_ms(RUNS, engine_query, hand_written)
    state.db.dispose()
    context.pop()
    label = f"{name}, {STORED_ORDERS:,} orders stored in {fill_seconds:.0f} s"
    figure = f"revenue by day vs previous 30 days ({label})"
    return [
        Figure(
            figure, engine_ms, "ms", hand_ms, "hand-written SQL", RUNS, Target("<", TARGET_MS[name])
        ),
        Figure(
            f"metrics engine against hand-written SQL ({name})",
            engine_ms,
            "ms",
            hand_ms,
            "hand-written SQL",
            RUNS,
            Target("<=", MAX_RATIO, on="ratio"),
        ),
    ]


def run() -> list[Figure]:
    return on_both_databases("bench_metrics", _run_backend)
