"""Orders at scale, on SQLite and PostgreSQL: 1,000,000 stored orders, a filtered list page
(target < 50 ms median) and stats/summary (< 300 ms median) through the HTTP API, and the CSV
import path for 100,000 orders (< 30 s). Baselines, measured in the same run: the same list and
summary done naively with ORM objects loaded into Python, and importing through create_order
one order at a time (timed on 1,000 orders, scaled to 100,000).

``BENCH_ORDERS_PARTS=import python -m bench orders`` measures only the import (still into a
project holding the million orders); by default (``queries,import``) every figure is printed.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from bench import Figure

PARTS = frozenset(os.environ.get("BENCH_ORDERS_PARTS", "queries,import").split(","))
STORED_ORDERS = 1_000_000
IMPORTED_ORDERS = 100_000
NAIVE_IMPORT_SAMPLE = 1_000
REPEATS = 15
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LIST_QUERY = "status=fulfilled&days=30&page=3&page_size=50"
SECONDS_PER_ORDER = 365 * 86400 / STORED_ORDERS

STATUS_SQL = (
    "CASE WHEN n % 20 = 0 THEN 'cancelled' WHEN n % 20 = 1 THEN 'refunded' "
    "WHEN n % 20 < 4 THEN 'paid' WHEN n % 20 = 4 THEN 'pending' ELSE 'fulfilled' END"
)


def _median_ms(action: Callable[[], object], repeats: int = REPEATS) -> float:
    action()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


ORDER_COLUMNS = """orders (id, project_id, number, provider, status, customer_name, currency, total,
    order_date, created_at, updated_at)"""
FILL_POSTGRESQL = f"""
INSERT INTO {ORDER_COLUMNS}
SELECT gen_random_uuid(), :pid, n, 'pos', {STATUS_SQL}, 'Customer ' || (n % 5000), 'USD',
       ((n::bigint * 7919) % 20000) / 100.0, now() - n * interval '1 second' * :step, now(), now()
FROM generate_series(1, :count) AS n"""
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%S', 'now') || '.000000'"
FILL_SQLITE = f"""
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count)
INSERT INTO {ORDER_COLUMNS}
SELECT lower(hex(randomblob(16))), :pid, n, 'pos', {STATUS_SQL}, 'Customer ' || (n % 5000), 'USD',
       (n * 7919) % 20000,
       strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || CAST(n * :step AS INTEGER) || ' seconds')
       || '.000000', {SQLITE_NOW}, {SQLITE_NOW}
FROM seq"""
FILL_ITEMS = """
INSERT INTO order_items (id, project_id, order_id, position, name, quantity, unit_price,
                         line_total, created_at)
SELECT {new_id}, project_id, id, 0, 'Product ' || (number % 50), 1, total, total, created_at
FROM orders WHERE project_id = :pid"""


def _fill(engine: sa.Engine, project_id: uuid.UUID) -> None:
    """1,000,000 orders over the past year with one item each, generated inside the database."""
    postgres = engine.dialect.name == "postgresql"
    pid = project_id if postgres else project_id.hex
    new_id = "gen_random_uuid()" if postgres else "lower(hex(randomblob(16)))"
    with engine.begin() as connection:
        connection.execute(
            sa.text(FILL_POSTGRESQL if postgres else FILL_SQLITE),
            {"pid": pid, "count": STORED_ORDERS, "step": SECONDS_PER_ORDER},
        )
        connection.execute(sa.text(FILL_ITEMS.format(new_id=new_id)), {"pid": pid})
        connection.execute(
            sa.text("INSERT INTO order_counters (project_id, last_number) VALUES (:pid, :count)"),
            {"pid": pid, "count": STORED_ORDERS},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE" if postgres else "ANALYZE"))


def _recent_orders(order, project_id: uuid.UUID, since) -> sa.Select:
    """The naive baselines load every order of the period as an ORM object (the whole table
    of a million would take minutes): filtering, sorting and summing then happen in Python."""
    return sa.select(order).where(order.project_id == project_id, order.order_date >= since)


def _import_rows(count: int) -> list[tuple[int, dict[str, str]]]:
    return [
        (
            line + 2,
            {
                "external_id": f"B-{line}",
                "provider": "bench",
                "order_date": f"2025-{1 + line % 12:02d}-{1 + line % 28:02d}T12:00:00Z",
                "status": "fulfilled",
                "customer_name": f"Buyer {line % 2000}",
                "customer_email": f"buyer{line % 2000}@example.com",
                "product_name": f"Product {line % 50}",
                "quantity": str(1 + line % 3),
                "unit_price": f"{1 + line % 90}.99",
            },
        )
        for line in range(count)
    ]


def _run_backend(name: str, database_url: str) -> list[Figure]:
    from core import migrate
    from core.app import create_app
    from core.auth.services import register_user
    from core.config import load_settings
    from core.context import Context
    from core.projects.services import create_project

    settings = load_settings(
        {},
        env="testing",
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        rate_limit_default="1000000/minute",
        log_level="WARNING",
        plugin={"NEBULO_RATE_LIMIT_CREATE_ORDER": "1000000/minute"},
    )
    app = create_app(settings)
    context = app.app_context()
    context.push()
    migrate.upgrade(app)
    state = app.extensions["nebulo"]
    with state.db.session_scope() as session:
        user = register_user(
            session, email="bench@example.com", password="bench password 1", name="Bench"
        )
        project = create_project(session, user.id, {"name": "Bench"})
        session.flush()
        project_id = project.id
    ctx = Context(
        project_id=project_id, permissions=frozenset(state.registry.permissions), role="owner"
    )
    start = time.perf_counter()
    _fill(state.db.engine, project_id)
    fill_seconds = time.perf_counter() - start

    figures = []
    if "queries" in PARTS:
        label = f"{name}, {STORED_ORDERS:,} orders stored in {fill_seconds:.0f} s"
        figures += _query_figures(app, project_id, name, label)
    if "import" in PARTS:
        figures += _import_figures(state, ctx, name)
    state.db.dispose()
    context.pop()
    return figures


def _query_figures(app, project_id: uuid.UUID, name: str, label: str) -> list[Figure]:
    from core.db import utcnow
    from plugins.orders.models import Order

    state = app.extensions["nebulo"]
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/login", json={"email": "bench@example.com", "password": "bench password 1"}
    ).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def list_page():
        response = client.get(f"/api/v1/orders/{project_id}?{LIST_QUERY}", headers=headers)
        assert response.status_code == 200 and len(response.get_json()) == 50, response.get_data()

    def summary():
        response = client.get(f"/api/v1/orders/{project_id}/stats/summary?days=30", headers=headers)
        assert response.status_code == 200 and response.get_json()["total_orders"] > 0

    def naive_list():
        with state.db.session_scope() as session:
            since = utcnow() - timedelta(days=30)
            orders = session.scalars(_recent_orders(Order, project_id, since)).all()
            matching = [o for o in orders if o.status == "fulfilled"]
            matching.sort(key=lambda o: (o.order_date, o.number), reverse=True)
            return [(o.id, [i.name for i in o.items]) for o in matching[100:150]]

    def naive_summary():
        with state.db.session_scope() as session:
            since = utcnow() - timedelta(days=30)
            orders = session.scalars(_recent_orders(Order, project_id, since)).all()
            by_status = Counter(o.status for o in orders)
            revenue = sum(
                (o.total for o in orders if o.status not in ("cancelled", "refunded")), Decimal(0)
            )
            return by_status, revenue

    list_ms = _median_ms(list_page)
    summary_ms = _median_ms(summary)
    naive_list_ms = _median_ms(naive_list, repeats=1)
    naive_summary_ms = _median_ms(naive_summary, repeats=1)

    return [
        Figure(
            f"orders list page ({label})",
            list_ms,
            "ms",
            "< 50 ms",
            list_ms < 50,
            naive_list_ms,
            "ORM objects filtered in Python",
        ),
        Figure(
            f"orders stats/summary?days=30 ({name})",
            summary_ms,
            "ms",
            "< 300 ms",
            summary_ms < 300,
            naive_summary_ms,
            "ORM objects summed in Python",
        ),
    ]


def _import_figures(state, ctx, name: str) -> list[Figure]:
    from plugins.orders import services

    rows = _import_rows(IMPORTED_ORDERS)
    start = time.perf_counter()
    with state.db.session_scope() as session:
        report = services.import_orders(session, ctx, rows)
    import_seconds = time.perf_counter() - start
    assert report.orders == IMPORTED_ORDERS and not report.errors, report.errors[:5]

    start = time.perf_counter()
    with state.db.session_scope() as session:
        for index in range(NAIVE_IMPORT_SAMPLE):
            data = {
                "customer_name": f"Buyer {index}",
                "items": [{"name": "Product 1", "quantity": 1, "unit_price": Decimal("2.99")}],
            }
            services.create_order(session, ctx, data)
    naive_import_seconds = (time.perf_counter() - start) * IMPORTED_ORDERS / NAIVE_IMPORT_SAMPLE
    return [
        Figure(
            f"import {IMPORTED_ORDERS:,} orders from CSV rows ({name})",
            import_seconds,
            "s",
            "< 30 s",
            import_seconds < 30,
            naive_import_seconds,
            f"create_order one by one, {NAIVE_IMPORT_SAMPLE:,} scaled",
        ),
    ]


def run() -> list[Figure]:
    figures = []
    with tempfile.TemporaryDirectory() as directory:
        figures += _run_backend("SQLite", f"sqlite:///{Path(directory) / 'bench_orders.db'}")
    schema = f"bench_orders_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        figures += _run_backend("PostgreSQL", f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return figures
