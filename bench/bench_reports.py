"""A sales report over a year of 1,000,000 orders on PostgreSQL (the orders bench's store:
one item each, ``BENCH_ORDERS_STORED`` changes the size), generated with every section, the
previous-year comparison and the offline summary: target < 2 s, beside the same figures by
hand-written SQL in the same run. Its PDF (charts drawn by vl-convert, printed by WeasyPrint):
target < 3 s, beside WeasyPrint printing the finished page (the floor of any PDF of it).

The baseline is the best shape we know, the one the metrics engine plans (``core.metrics.scans``):
figures, weekly series and statuses in one scan, top products and items sold in one join, the
previous period's figures, all side by side on connections of their own, the weekly scan in two
halves. A second row holds the report against the same figures one statement per table, one
after another (the shape before batching), for information.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from bench import Figure, Target, median_ms
from bench.bench_orders import POSTGRES_URL, STORED_ORDERS
from bench.bench_orders import _fill as fill_orders

RUNS = 5
REPORT_TARGET_MS = 2000.0
PDF_TARGET_MS = 3000.0
REVENUE = "status NOT IN ('cancelled', 'refunded')"
COUNTED = "project_id = :pid AND NOT is_test AND deleted_at IS NULL"
IN_PERIOD = "order_date >= :start AND order_date < :end"
FIGURES = f"""count(*), count(*) FILTER (WHERE {REVENUE}),
       sum(total - refunded) FILTER (WHERE {REVENUE}), max(total) FILTER (WHERE {REVENUE}),
       sum(CASE WHEN status = 'refunded' THEN total ELSE refunded END)
         FILTER (WHERE status = 'refunded' OR refunded > 0)"""
ITEMS = f"""FROM order_items i JOIN orders ON orders.id = i.order_id
WHERE orders.{COUNTED} AND {IN_PERIOD} AND {REVENUE}"""
WEEKLY = f"""SELECT date_trunc('week', order_date AT TIME ZONE 'UTC'), status, {FIGURES}
FROM orders WHERE {COUNTED} AND {IN_PERIOD} GROUP BY 1, 2"""
"""The figures (cancelled orders are a status), the weekly series and the statuses: one scan."""
CURRENT = (
    f"""SELECT customer_name, sum(total - refunded) AS revenue, count(*) FROM orders
WHERE {COUNTED} AND {IN_PERIOD} AND {REVENUE} GROUP BY 1 ORDER BY revenue DESC LIMIT 10""",
    f"SELECT i.name, sum(i.line_total), sum(i.quantity) {ITEMS} GROUP BY 1",
)
"""Top customers; top products and (their sum) items sold."""
PREVIOUS = (
    f"SELECT {FIGURES}, count(*) FILTER (WHERE status = 'cancelled') FROM orders "
    f"WHERE {COUNTED} AND {IN_PERIOD}",
    f"SELECT sum(i.quantity) {ITEMS}",
)
"""The previous period's figures."""
ONE_BY_ONE = (
    f"""SELECT {FIGURES}, count(*) FILTER (WHERE status = 'cancelled')
FROM orders WHERE {COUNTED} AND {IN_PERIOD}""",
    f"SELECT sum(i.quantity) {ITEMS}",
    f"""SELECT date_trunc('week', order_date AT TIME ZONE 'UTC'), sum(total - refunded), count(*)
FROM orders WHERE {COUNTED} AND {IN_PERIOD} AND {REVENUE} GROUP BY 1""",
    f"""SELECT i.name, sum(i.line_total) AS revenue, sum(i.quantity) {ITEMS}
GROUP BY 1 ORDER BY revenue DESC LIMIT 10""",
    CURRENT[0],
    f"SELECT status, count(*) FROM orders WHERE {COUNTED} AND {IN_PERIOD} GROUP BY 1",
)
"""The same figures one statement per table, one after another (the shape before batching;
for the previous period only the figures and items sold)."""


def hand_written_jobs(project_id: uuid.UUID, current, previous) -> list[tuple[str, dict]]:
    """The report's statements with their parameters: the weekly scan in two halves (a GROUP
    BY over a time bucket runs in one process), the rest whole."""
    start, end = current
    middle = start + (end - start) / 2
    jobs = [(WEEKLY, {"start": start, "end": middle}), (WEEKLY, {"start": middle, "end": end})]
    jobs += [(statement, {"start": start, "end": end}) for statement in CURRENT]
    jobs += [(statement, {"start": previous[0], "end": previous[1]}) for statement in PREVIOUS]
    return [(statement, {"pid": project_id, **params}) for statement, params in jobs]


def _run(database_url: str) -> list[Figure]:
    from weasyprint import HTML

    from core import migrate
    from core.app import create_app
    from core.config import load_settings
    from core.context import Context
    from core.metrics.periods import parse_period, shift_period, today_in
    from core.projects.models import Project
    from plugins.reports import render, services

    settings = load_settings(
        {},
        env="testing",
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
        database_url=database_url,
        log_level="WARNING",
        plugin={"NEBULO_ASSISTANT_PROVIDER": "offline"},
    )
    app = create_app(settings)
    context = app.test_request_context()
    context.push()
    migrate.upgrade(app)
    state = app.extensions["nebulo"]
    with state.db.session_scope() as session:
        project = Project(name="Bench")
        session.add(project)
        session.flush()
        project_id = project.id
    started = time.perf_counter()
    fill_orders(state.db.engine, project_id)
    fill_seconds = time.perf_counter() - started
    ctx = Context(project_id=project_id, permissions=frozenset(state.registry.permissions))
    period = parse_period("past 365 days", today_in("UTC"))
    kept = {}

    def generate() -> None:
        with state.db.sessions() as session:
            report = services.create_report(session, ctx, "sales", period, {})
            assert report.payload["total_orders"] > 0
            kept["report"] = report
            session.rollback()

    current = period.bounds("UTC")
    previous = shift_period(period, "previous_period").bounds("UTC")
    jobs = hand_written_jobs(project_id, current, previous)

    def read(job: tuple[str, dict]) -> None:
        with state.db.engine.connect() as connection:
            assert connection.execute(sa.text(job[0]), job[1]).all()

    def hand_written() -> None:
        """The same statements side by side on connections of their own, as the engine does."""
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(read, jobs))

    def one_by_one() -> None:
        with state.db.sessions() as session:
            for bounds, statements in ((current, ONE_BY_ONE), (previous, ONE_BY_ONE[:2])):
                for statement in statements:
                    parameters = {"pid": project_id, "start": bounds[0], "end": bounds[1]}
                    assert session.execute(sa.text(statement), parameters).all()

    report_ms = median_ms(RUNS, generate)
    hand_ms = median_ms(RUNS, hand_written)
    one_by_one_ms = median_ms(RUNS, one_by_one)
    report = kept["report"]
    page = render.report_html(report)
    pdf_ms = median_ms(RUNS, lambda: render.report_pdf(report))
    print_ms = median_ms(RUNS, lambda: HTML(string=page).write_pdf())
    state.db.dispose()
    context.pop()
    store = f"{STORED_ORDERS:,} orders stored in {fill_seconds:.0f} s"
    return [
        Figure(
            f"sales report over a year (PostgreSQL, {store})",
            report_ms,
            "ms",
            hand_ms,
            "hand-written SQL, same figures",
            RUNS,
            Target("<", REPORT_TARGET_MS),
        ),
        Figure(
            "  the report against one statement per table (ratio shown)",
            report_ms,
            "ms",
            one_by_one_ms,
            "hand-written SQL, one statement per table, one after another",
            RUNS,
        ),
        Figure(
            "its PDF with charts (PostgreSQL)",
            pdf_ms,
            "ms",
            print_ms,
            "WeasyPrint printing the finished page",
            RUNS,
            Target("<", PDF_TARGET_MS),
        ),
    ]


def run() -> list[Figure]:
    """In a PostgreSQL schema of its own, dropped afterwards."""
    schema = f"bench_reports_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        return _run(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
