"""The orders' statistics endpoints (seed 001's summary, top products, revenue by day) and
the assistant's order tools: figures of the metrics engine (``plugins/orders/metrics.py``),
so they equal what the metrics API, reports, dashboards and the assistant give.

"The last N days" is the engine's "past N days": N whole days in the project's time zone,
today included, not N times 24 hours back from now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.context import Context
from core.metrics import Period
from core.metrics.engine import project_timezone, run_queries
from core.metrics.periods import today_in
from core.metrics.query import MetricQuery, MetricResult
from plugins.orders.catalog import product_ids_by_name
from plugins.orders.models import ORDER_STATUSES
from plugins.orders.services import ZERO

DEFAULT_CURRENCY = "USD"
"""The summary's currency when the period holds no order: an order's default currency."""


def past_days(days: int, timezone: str) -> Period:
    """The ``days`` whole days up to today in ``timezone``, today included: the period "past
    N days" names in the metrics API and to the assistant (whose grammar stops at 9,999 days,
    where the seed's summary takes up to a century)."""
    today = today_in(timezone)
    return Period(today - timedelta(days=days - 1), today, f"past {days} days")


def summary_queries(period: Period) -> list[MetricQuery]:
    """The summary's queries: orders by currency and status, and the figures by currency.
    The orders by status are asked by currency too, so that the engine reads both queries
    in one SELECT."""
    return [
        MetricQuery(metrics=("orders",), period=period, group_by=("currency", "status")),
        MetricQuery(
            metrics=("orders", "paid_orders", "revenue", "average_order_value"),
            period=period,
            group_by=("currency",),
            order="-orders",
        ),
    ]


def summary_of(days: int, by_status: MetricResult, by_currency: MetricResult) -> dict[str, Any]:
    """Seed 001's summary from the answers to :func:`summary_queries`, in the currency of
    most orders; other currencies apart, never added.

    Test orders and orders deleted at their provider count nowhere; revenue is net of refunds
    and leaves out cancelled and refunded orders (which still count as orders). An average
    order value without any order bringing revenue is 0 (the metrics API says null).
    """
    orders_by_status = dict.fromkeys(ORDER_STATUSES, 0)
    for row in by_status.rows:
        orders_by_status[row["status"]] += row["orders"]
    figures = {
        row["currency"]: {
            "orders": row["paid_orders"],
            "revenue": row["revenue"],
            "average_order_value": row["average_order_value"] or ZERO,
        }
        for row in by_currency.rows
    }
    # Currencies come by orders, most first; the engine breaks ties by name.
    main = by_currency.rows[0]["currency"] if by_currency.rows else DEFAULT_CURRENCY
    main_figures = figures.pop(main, {"revenue": ZERO, "average_order_value": ZERO})
    return {
        "period_days": days,
        "total_orders": by_currency.totals["orders"],
        "currency": main,
        "total_revenue": main_figures["revenue"],
        "orders_by_status": {s: count for s, count in orders_by_status.items() if count},
        "average_order_value": main_figures["average_order_value"],
        "other_currencies": figures,
    }


def order_summary(session: Session, ctx: Context, days: int = 30) -> dict[str, Any]:
    """Seed 001's summary over the past ``days`` days (:func:`summary_of`)."""
    return summary_of(days, *_over_past_days(session, ctx, days, summary_queries))


def top_products(
    session: Session, ctx: Context, days: int = 30, limit: int = 10
) -> list[dict[str, Any]]:
    """Best sellers by units over the past ``days`` days, one row per product and currency,
    ties by name; cancelled and refunded orders left out. A product is an item's name, as the
    metrics' ``product`` dimension groups them; ``product_id`` is the catalog product of that
    name (none for a free-text item)."""
    [result] = _over_past_days(
        session,
        ctx,
        days,
        lambda period: [
            MetricQuery(
                metrics=("items_sold", "product_revenue", "paid_orders_with_product"),
                period=period,
                group_by=("product", "currency"),
                order="-items_sold",
                limit=limit,
            )
        ],
    )
    ids = product_ids_by_name(session, ctx, (row["product"] for row in result.rows))
    return [
        {
            "product_id": ids.get(row["product"]),
            "name": row["product"],
            "currency": row["currency"],
            "quantity": int(row["items_sold"]),
            "revenue": row["product_revenue"],
            "orders": row["paid_orders_with_product"],
        }
        for row in result.rows
    ]


def revenue_by_day_query(period: Period) -> MetricQuery:
    """Orders bringing revenue and their net revenue per day and currency."""
    return MetricQuery(
        metrics=("paid_orders", "revenue"), period=period, group_by=("day", "currency")
    )


def revenue_days(by_day: MetricResult) -> list[dict[str, Any]]:
    """The days of :func:`revenue_by_day_query`'s answer that had orders bringing revenue."""
    return [
        {
            "date": row["day"],
            "currency": row["currency"],
            "orders": row["paid_orders"],
            "revenue": row["revenue"],
        }
        for row in by_day.rows
        if row["paid_orders"]
    ]


def revenue_by_day(session: Session, ctx: Context, days: int = 30) -> list[dict[str, Any]]:
    """Orders bringing revenue and their net revenue per day (in the project's time zone)
    and currency over the past ``days`` days; days without such orders are left out."""
    [by_day] = _over_past_days(session, ctx, days, lambda period: [revenue_by_day_query(period)])
    return revenue_days(by_day)


def summary_and_revenue_by_day(
    session: Session, ctx: Context, days: int = 30
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """:func:`order_summary` and :func:`revenue_by_day` in one batch of the engine, for a
    caller wanting both (the assistant's ``order_stats``): their SELECTs read the same
    snapshot, side by side on PostgreSQL, rather than one engine call after the other."""
    *summary, by_day = _over_past_days(
        session,
        ctx,
        days,
        lambda period: [*summary_queries(period), revenue_by_day_query(period)],
    )
    return summary_of(days, *summary), revenue_days(by_day)


def _over_past_days(
    session: Session,
    ctx: Context,
    days: int,
    queries: Callable[[Period], list[MetricQuery]],
) -> list[MetricResult]:
    """The answers to ``queries`` over the past ``days`` days of the project, in one batch."""
    timezone = project_timezone(session, ctx.project_id)
    return run_queries(session, ctx, queries(past_days(days, timezone)), timezone=timezone)
