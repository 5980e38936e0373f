"""A batch of metrics queries (``run_queries``): the same answers as one query at a time, from
fewer SELECTs; on PostgreSQL read side by side in the caller's snapshot, and in the caller's
session once its transaction has written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from sqlalchemy import event

from core.context import Context
from core.metrics.engine import run_queries, run_query
from core.metrics.periods import Period, explicit_period
from core.metrics.query import MetricQuery
from plugins.orders.models import Order, OrderItem
from tests.core.test_metrics import ORDER_NUMBERS, set_timezone, utc

MARCH = explicit_period(date(2025, 3, 1), date(2025, 3, 31))
ROWS = (
    # (UTC time, status, customer, product, quantity, unit price)
    (utc(2024, 3, 15, 12), "paid", "Ann", "Tea", 1, "3.50"),
    (utc(2025, 2, 10, 9), "paid", "Ann", "Tea", 2, "3.50"),
    (utc(2025, 2, 27, 23, 30), "fulfilled", "Bo", "Cake", 1, "12.00"),
    (utc(2025, 3, 2, 10), "paid", "Ann", "Tea", 3, "3.50"),
    (utc(2025, 3, 9, 22, 30), "fulfilled", "Cy", "Cake", 2, "12.00"),
    (utc(2025, 3, 18, 8), "cancelled", "Bo", "Tea", 1, "3.50"),
    (utc(2025, 3, 29, 23, 30), "refunded", "Ann", "Cake", 1, "12.00"),
    (utc(2025, 3, 30, 1, 30), "paid", "Dee", "Scone", 4, "2.25"),
    (utc(2025, 3, 31, 21, 59), "paid", "Bo", "Tea", 1, "3.50"),
)
QUERIES = (
    MetricQuery(
        metrics=("revenue", "orders", "average_order_value", "largest_order", "refunded_amount"),
        period=MARCH,
        compare="previous_period",
    ),
    MetricQuery(metrics=("items_sold",), period=MARCH, compare="previous_period"),
    MetricQuery(metrics=("revenue", "paid_orders"), period=MARCH, group_by=("week",)),
    MetricQuery(metrics=("orders",), period=MARCH, group_by=("day",), compare="previous_year"),
    MetricQuery(metrics=("orders",), period=MARCH, group_by=("status",), order="-orders"),
    MetricQuery(metrics=("orders",), period=MARCH, group_by=("weekday", "status")),
    MetricQuery(metrics=("revenue", "paid_orders"), period=MARCH, group_by=("customer",), limit=2),
    MetricQuery(
        metrics=("product_revenue", "items_sold", "orders_with_product"),
        period=MARCH,
        group_by=("product",),
        order="-product_revenue",
    ),
    MetricQuery(metrics=("orders_with_product",), period=MARCH),
    MetricQuery(metrics=("revenue",), period=MARCH, filters={"status": ("paid",)}),
    MetricQuery(  # a previous year that overlaps: March 2024 is in both
        metrics=("orders",),
        period=explicit_period(date(2024, 3, 1), date(2025, 3, 31)),
        group_by=("month",),
        compare="previous_year",
    ),
)


def add_orders(session, project_id: uuid.UUID) -> None:
    for when, status, customer, product, quantity, price in ROWS:
        total = Decimal(price) * quantity
        order = Order(
            project_id=project_id,
            number=next(ORDER_NUMBERS),
            status=status,
            total=total,
            order_date=when,
            customer_name=customer,
        )
        order.items.append(
            OrderItem(
                project_id=project_id,
                name=product,
                quantity=quantity,
                unit_price=Decimal(price),
                line_total=total,
            )
        )
        session.add(order)


@contextmanager
def counted_selects(engine) -> Iterator[list[str]]:
    """The SELECTs over orders (and their items) sent on ``engine``, on any of its
    connections, meanwhile."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT") and "orders.project_id = " in statement:
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def answers(results) -> list[dict]:
    return [result.as_json() for result in results]


def test_a_batch_answers_as_each_query_alone_with_fewer_selects(app, client, project, owner):
    set_timezone(client, project, owner, "Europe/Berlin")  # daylight saving on March 30
    project_id = uuid.UUID(project["id"])
    state = app.extensions["nebulo"]
    with app.app_context(), state.db.session_scope() as session:
        add_orders(session, project_id)
    ctx = Context(project_id=project_id, permissions=frozenset(state.registry.permissions))
    with app.test_request_context(), state.db.session_scope() as session:
        with counted_selects(state.db.engine) as alone:
            one_by_one = answers([run_query(session, ctx, q) for q in QUERIES])
        with counted_selects(state.db.engine) as sent:
            batch = answers(run_queries(session, ctx, QUERIES))
    assert batch == one_by_one
    figures = batch[0]
    assert figures["totals"]["revenue"] == 47.0 and figures["totals"]["orders"] == 6
    assert figures["comparison_totals"]["orders"] == 2
    assert batch[1]["totals"] == {"items_sold": 10} and batch[8]["totals"] == {
        "orders_with_product": 6
    }
    assert batch[-1]["totals"] == {"orders": 9} and batch[-1]["comparison_totals"] == {"orders": 1}
    day = {row["day"]: row["orders"] for row in batch[3]["rows"]}
    assert day["2025-03-30"] == 2 and day["2025-03-09"] == 1  # Berlin's days
    # A third fewer where a series and its previous period share a scan too (PostgreSQL;
    # SQLite reads them apart, see core.metrics.scans).
    fewer = 2 / 3 if state.db.engine.dialect.name == "postgresql" else 1
    assert len(sent) < len(alone) * fewer


def test_a_batch_sees_what_its_own_transaction_wrote(app, project):
    """Reading side by side needs the caller's snapshot; writes not yet committed are only
    visible to the caller's own connection, so then the batch reads there."""
    project_id = uuid.UUID(project["id"])
    state = app.extensions["nebulo"]
    ctx = Context(project_id=project_id, permissions=frozenset(state.registry.permissions))
    queries = [
        MetricQuery(metrics=("orders",), period=MARCH, group_by=("day",)),
        MetricQuery(metrics=("product_revenue",), period=MARCH, group_by=("product",)),
        MetricQuery(metrics=("revenue",), period=MARCH, group_by=("customer",)),
    ]
    with app.test_request_context(), state.db.session_scope() as session:
        add_orders(session, project_id)
        session.flush()
        results = run_queries(session, ctx, queries)
        session.rollback()
    assert sum(row["orders"] for row in results[0].rows) == 6
    assert results[1].totals["product_revenue"] == Decimal("47.00")
    assert {row["customer"] for row in results[2].rows} == {"Ann", "Cy", "Dee", "Bo"}
    with app.test_request_context(), state.db.session_scope() as session:
        savepoint = session.begin_nested()  # exports no snapshot: the batch reads in the session
        in_savepoint = run_queries(session, ctx, queries)
        savepoint.rollback()
    assert in_savepoint[0].totals == {"orders": 0}


def test_periods_named_apart_over_the_same_days_share_nothing_wrongly(app, project):
    project_id = uuid.UUID(project["id"])
    state = app.extensions["nebulo"]
    with app.app_context(), state.db.session_scope() as session:
        add_orders(session, project_id)
    ctx = Context(project_id=project_id, permissions=frozenset(state.registry.permissions))
    march = Period(MARCH.start, MARCH.end, "March 2025", "month")
    queries = [
        MetricQuery(metrics=("orders",), period=MARCH, group_by=("week",)),
        MetricQuery(metrics=("orders",), period=march, group_by=("week",)),
    ]
    with app.test_request_context(), state.db.session_scope() as session:
        first, second = run_queries(session, ctx, queries)
    assert first.rows == second.rows and first.totals == second.totals == {"orders": 6}
