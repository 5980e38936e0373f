"""Orders at scale, on SQLite and PostgreSQL: 1,000,000 stored orders, a filtered list page
and stats/summary through the HTTP API, and the CSV import path for 100,000 orders.

Baselines, measured in the same run, are what a capable user would write instead: for the list
page and the summary, one hand-written SQL statement with the same filters over the same
indexes (on SQLite the summary's is the statement SQLite runs on the covering
``(project_id, order_date, status, total)`` index); for the import, the same orders, items and
customers written by plain ``executemany`` INSERTs (a ``COPY`` on PostgreSQL, where
``executemany`` runs one statement per row, and so the orders' count trigger). Each query
figure and its baseline are medians of RUNS; each import is one run of each.

``BENCH_ORDERS_PARTS=import`` measures only the import (still into a project holding the stored
orders); ``BENCH_ORDERS_STORED`` / ``BENCH_ORDERS_IMPORTED`` shrink the sizes while developing.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from bench import Figure, Target, median_ms

PARTS = frozenset(os.environ.get("BENCH_ORDERS_PARTS", "queries,import").split(","))
STORED_ORDERS = int(os.environ.get("BENCH_ORDERS_STORED", "1000000"))
IMPORTED_ORDERS = int(os.environ.get("BENCH_ORDERS_IMPORTED", "100000"))
RUNS = 15
IMPORT_RUNS = 1
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LIST_QUERY = "status=fulfilled&days=30&page=3&page_size=50"
SECONDS_PER_ORDER = 365 * 86400 / STORED_ORDERS
LIST_TARGET_MS = 50.0
SUMMARY_TARGET_MS = 300.0
SUMMARY_MAX_RATIO = 1.5
"""The summary is a few rows of JSON: its time is its query's, which must reach the best plan."""
IMPORT_TARGET_SECONDS = 30.0

STATUS_SQL = (
    "CASE WHEN n % 20 = 0 THEN 'cancelled' WHEN n % 20 = 1 THEN 'refunded' "
    "WHEN n % 20 < 4 THEN 'paid' WHEN n % 20 = 4 THEN 'pending' ELSE 'fulfilled' END"
)


ORDER_COLUMNS = """orders (id, project_id, number, provider, status, customer_name, currency, total,
    refunded, is_test, order_date, created_at, updated_at)"""
FILL_POSTGRESQL = f"""
INSERT INTO {ORDER_COLUMNS}
SELECT gen_random_uuid(), :pid, n, 'pos', {STATUS_SQL}, 'Customer ' || (n % 5000), 'USD',
       ((n::bigint * 7919) % 20000) / 100.0, 0, false,
       now() - n * interval '1 second' * :step, now(), now()
FROM generate_series(1, :count) AS n"""
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%S', 'now') || '.000000'"
FILL_SQLITE = f"""
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count)
INSERT INTO {ORDER_COLUMNS}
SELECT lower(hex(randomblob(16))), :pid, n, 'pos', {STATUS_SQL}, 'Customer ' || (n % 5000), 'USD',
       (n * 7919) % 20000, 0, false,
       strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || CAST(n * :step AS INTEGER) || ' seconds')
       || '.000000', {SQLITE_NOW}, {SQLITE_NOW}
FROM seq"""
FILL_ITEMS = """
INSERT INTO order_items (id, project_id, order_id, position, name, quantity, unit_price,
                         line_total, stock_taken, created_at)
SELECT {new_id}, project_id, id, 0, 'Product ' || (number % 50), 1, total, total, false,
       created_at
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
            sa.text("UPDATE order_counters SET last_number = :count WHERE project_id = :pid"),
            {"pid": pid, "count": STORED_ORDERS},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE" if postgres else "ANALYZE"))


def _import_rows(count: int, tag: str) -> list[tuple[int, dict[str, str]]]:
    """CSV rows ``(line, row)`` of ``count`` one-item orders by 2,000 customers; ``tag`` keeps
    the two imports' orders and customers apart, so each creates its own."""
    return [
        (
            line + 2,
            {
                "external_id": f"{tag}-{line}",
                "provider": "bench",
                "order_date": f"2025-{1 + line % 12:02d}-{1 + line % 28:02d}T12:00:00Z",
                "status": "fulfilled",
                "customer_name": f"Buyer {line % 2000}",
                "customer_email": f"{tag}{line % 2000}@example.com",
                "product_name": f"Product {line % 50}",
                "quantity": str(1 + line % 3),
                "unit_price": f"{1 + line % 90}.99",
            },
        )
        for line in range(count)
    ]


HAND_ORDER_COLUMNS = (
    "id", "number", "external_id", "provider", "status", "customer_id", "customer_name",
    "customer_email", "total", "order_date",
)  # fmt: skip
HAND_ITEM_COLUMNS = ("id", "order_id", "name", "quantity", "unit_price", "line_total")


def _import_by_hand(session, project_id: uuid.UUID, rows: list[tuple[int, dict[str, str]]]) -> int:
    """The import's work with plain ``executemany`` (``COPY`` on PostgreSQL, whose
    ``executemany`` runs the orders' count trigger once per row): parse the rows, look up the
    provider's imported ids, create the customers, number the orders, insert orders and items."""
    from core.db import insert_rows, utcnow
    from plugins.customers.models import Customer
    from plugins.orders.models import Order, OrderCounter, OrderItem

    now = utcnow()
    known = set(
        session.scalars(
            sa.select(Order.external_id).where(
                Order.project_id == project_id, Order.provider == "bench"
            )
        )
    )
    fresh = [row for _line, row in rows if row["external_id"] not in known]
    emails = {row["customer_email"]: row["customer_name"] for row in fresh}
    existing = dict(
        session.execute(
            sa.select(Customer.email, Customer.id).where(
                Customer.project_id == project_id, Customer.email.in_(emails)
            )
        ).all()
    )
    new_customers = [
        {"id": uuid.uuid4(), "project_id": project_id, "name": name, "email": email}
        for email, name in emails.items()
        if email not in existing
    ]
    session.execute(sa.insert(Customer.__table__), new_customers)
    customer_ids = existing | {c["email"]: c["id"] for c in new_customers}
    first = (
        session.execute(
            sa.update(OrderCounter)
            .where(OrderCounter.project_id == project_id)
            .values(last_number=OrderCounter.last_number + len(fresh))
            .returning(OrderCounter.last_number)
        ).scalar_one()
        - len(fresh)
        + 1
    )
    orders, items = [], []
    for number, row in enumerate(fresh, first):
        order_id, quantity = uuid.uuid4(), int(row["quantity"])
        unit_price = Decimal(row["unit_price"])
        orders.append(
            (
                order_id,
                number,
                row["external_id"],
                row["provider"],
                row["status"],
                customer_ids[row["customer_email"]],
                row["customer_name"],
                row["customer_email"],
                unit_price * quantity,
                datetime.fromisoformat(row["order_date"]),
            )
        )
        items.append(
            (
                uuid.uuid4(),
                order_id,
                row["product_name"],
                quantity,
                unit_price,
                unit_price * quantity,
            )
        )
    stamps = {"project_id": project_id, "created_at": now}
    order_constants = {"currency": "USD", "refunded": 0, "is_test": False, "updated_at": now}
    insert_rows(session, Order.__table__, HAND_ORDER_COLUMNS, orders, stamps | order_constants)
    item_constants = {"position": 0, "stock_taken": True}
    insert_rows(session, OrderItem.__table__, HAND_ITEM_COLUMNS, items, stamps | item_constants)
    return len(orders)


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


LIST_SQL = """
SELECT page.id, page.number, page.status, page.customer_name, page.currency, page.total,
       page.order_date, page.matching, i.name, i.quantity, i.unit_price, i.line_total
FROM (SELECT id, number, status, customer_name, currency, total, order_date,
             (SELECT count(*) FROM orders
              WHERE project_id = :pid AND status = :status AND order_date >= :since) AS matching
      FROM orders
      WHERE project_id = :pid AND status = :status AND order_date >= :since
      ORDER BY order_date DESC, number DESC LIMIT 50 OFFSET 100) AS page
JOIN order_items i ON i.order_id = page.id
ORDER BY page.order_date DESC, page.number DESC, i.position"""
SUMMARY_SQL = """
SELECT currency, status, count(*), sum(total - refunded)
FROM orders {index_hint}
WHERE project_id = :pid AND order_date >= :start AND order_date < :end
  AND is_test = :false AND deleted_at IS NULL
GROUP BY currency, status"""
COVERING_INDEX = "ix_orders_project_id_order_date"
"""``(project_id, order_date, status, total)``: a 30-day window is one range of it."""


def _hand_written(sql: str) -> sa.TextClause:
    """``sql`` with its parameters bound through the columns' own types, as the ORM binds."""
    from plugins.orders.models import Order

    typed = {
        "pid": sa.bindparam("pid", type_=Order.project_id.type),
        "since": sa.bindparam("since", type_=Order.order_date.type),
        "start": sa.bindparam("start", type_=Order.order_date.type),
        "end": sa.bindparam("end", type_=Order.order_date.type),
        "false": sa.bindparam("false", value=False, type_=Order.is_test.type),
    }
    return sa.text(sql).bindparams(*(bind for name, bind in typed.items() if f":{name}" in sql))


def _query_figures(app, project_id: uuid.UUID, name: str, label: str) -> list[Figure]:
    from core.db import utcnow
    from core.metrics.engine import project_timezone
    from plugins.orders.statistics import past_days

    state = app.extensions["nebulo"]
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/login", json={"email": "bench@example.com", "password": "bench password 1"}
    ).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    since = utcnow() - timedelta(days=30)
    # The summary's period: the last 30 whole days in the project's time zone.
    with state.db.session_scope() as session:
        timezone = project_timezone(session, project_id)
    summary_start, summary_end = past_days(30, timezone).bounds(timezone)
    # On SQLite the baseline names the covering index: the plan a capable user makes sure of.
    index_hint = f"INDEXED BY {COVERING_INDEX}" if state.db.engine.dialect.name == "sqlite" else ""
    list_sql = _hand_written(LIST_SQL)
    summary_sql = _hand_written(SUMMARY_SQL.format(index_hint=index_hint))

    def list_page():
        response = client.get(f"/api/v1/orders/{project_id}?{LIST_QUERY}", headers=headers)
        assert response.status_code == 200 and len(response.get_json()) == 50, response.get_data()

    def summary():
        response = client.get(f"/api/v1/orders/{project_id}/stats/summary?days=30", headers=headers)
        assert response.status_code == 200 and response.get_json()["total_orders"] > 0

    def hand_list():
        with state.db.engine.connect() as connection:
            rows = connection.execute(
                list_sql, {"pid": project_id, "status": "fulfilled", "since": since}
            ).all()
        assert len({row.id for row in rows}) == 50

    def hand_summary():
        with state.db.engine.connect() as connection:
            rows = connection.execute(
                summary_sql, {"pid": project_id, "start": summary_start, "end": summary_end}
            ).all()
        assert sum(row[2] for row in rows) > 0

    list_ms, hand_list_ms = median_ms(RUNS, list_page), median_ms(RUNS, hand_list)
    summary_ms, hand_summary_ms = median_ms(RUNS, summary), median_ms(RUNS, hand_summary)
    by_hand = "one SQL statement by hand"
    return [
        Figure(f"orders list page ({label})", list_ms, "ms", hand_list_ms, by_hand, RUNS,
               Target("<", LIST_TARGET_MS)),
        Figure("  list page against the statement by hand (ratio shown)", list_ms, "ms",
               hand_list_ms, by_hand, RUNS),
        Figure(f"orders stats/summary?days=30 ({name})", summary_ms, "ms", hand_summary_ms,
               by_hand, RUNS, Target("<", SUMMARY_TARGET_MS)),
        Figure("  summary against the best statement by hand", summary_ms, "ms",
               hand_summary_ms, by_hand, RUNS, Target("<=", SUMMARY_MAX_RATIO, on="ratio")),
    ]  # fmt: skip


def _import_figures(state, ctx, name: str) -> list[Figure]:
    from plugins.orders import importing

    service_rows = _import_rows(IMPORTED_ORDERS, "service")
    hand_rows = _import_rows(IMPORTED_ORDERS, "hand")
    start = time.perf_counter()
    with state.db.session_scope() as session:
        report = importing.import_orders(session, ctx, service_rows)
    import_seconds = time.perf_counter() - start
    assert report.orders == IMPORTED_ORDERS and not report.errors, report.errors[:5]
    start = time.perf_counter()
    with state.db.session_scope() as session:
        imported = _import_by_hand(session, ctx.project_id, hand_rows)
    hand_seconds = time.perf_counter() - start
    assert imported == IMPORTED_ORDERS
    return [
        Figure(
            f"import {IMPORTED_ORDERS:,} orders from CSV rows ({name})",
            import_seconds,
            "s",
            hand_seconds,
            "same work by plain executemany (COPY on PostgreSQL)",
            IMPORT_RUNS,
            Target("<", IMPORT_TARGET_SECONDS),
        ),
    ]


def on_both_databases(name: str, run_backend: Callable[[str, str], list[Figure]]) -> list[Figure]:
    """``run_backend(label, database_url)`` on a temporary SQLite file, then in a PostgreSQL
    schema of its own that is dropped afterwards."""
    figures = []
    with tempfile.TemporaryDirectory() as directory:
        figures += run_backend("SQLite", f"sqlite:///{Path(directory) / f'{name}.db'}")
    schema = f"{name}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        figures += run_backend("PostgreSQL", f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return figures


def run() -> list[Figure]:
    return on_both_databases("bench_orders", _run_backend)
