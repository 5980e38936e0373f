"""Assistant tools over orders and the catalog; each calls the same services as the routes.

Tools offered to customers (``audiences`` includes ``"customer"``) only ever see the calling
customer's own orders.
"""

from __future__ import annotations

from typing import Any, Literal

from assistant.tools import ToolContext, tool
from core.errors import NotFound
from plugins.orders import lookup, services, statistics
from plugins.orders.models import ORDER_STATUSES
from plugins.orders.schemas import (
    OrderSchema,
    ProductSchema,
    RevenueDaySchema,
    SummarySchema,
    TopProductSchema,
)

MAX_SEARCH_RESULTS = 20
OrderStatus = Literal[ORDER_STATUSES]  # type: ignore[valid-type]


def _own_orders_only(ctx: ToolContext, filters: dict[str, Any]) -> dict[str, Any]:
    if ctx.context.audience == "customer":
        return {**filters, "customer_id": ctx.context.customer_id}
    return filters


@tool(
    permission="view_order",
    audiences=("operator", "customer"),
    examples=("what is the status of order 1042?", "show me order #1042", "where is my order 57?"),
)
def get_order(ctx: ToolContext, order: str) -> dict[str, Any]:
    """One order with its items, status, customer and total, by order number (e.g. 1042) or id."""
    found = services.find_order(ctx.session, ctx.context, order)
    if ctx.context.audience == "customer" and found.customer_id != ctx.context.customer_id:
        raise NotFound(f"Order {order} not found")
    return OrderSchema().dump(found)


@tool(
    permission="view_order",
    audiences=("operator", "customer"),
    examples=(
        "which orders are still pending?",
        "show the orders of Alice Martin from the last 30 days",
        "list cancelled orders this week",
        "show me every refunded or paid order",
    ),
)
def search_orders(
    ctx: ToolContext,
    status: OrderStatus | None = None,
    customer: str | None = None,
    days: int | None = None,
) -> dict[str, Any]:
    """Recent orders (newest first, at most 20) by status, customer name/email and days back."""
    filters = _own_orders_only(ctx, {"status": status, "q": customer, "days": days})
    statement = services.list_orders(ctx.context, filters)
    orders = list(ctx.session.scalars(statement.limit(MAX_SEARCH_RESULTS)))
    fields = ("number", "status", "customer_name", "total", "currency", "order_date")
    return {"count": len(orders), "orders": OrderSchema(many=True, only=fields).dump(orders)}


@tool(
    permission="view_order",
    examples=(
        "how many orders did we get in the last 7 days?",
        "what was our revenue this month?",
        "what is the average order value over the last 90 days?",
        "total revenue so far over this month",
    ),
)
def order_stats(ctx: ToolContext, days: int = 30) -> dict[str, Any]:
    """Orders, revenue (net of refunds), orders by status and average order value over the
    last ``days`` whole days (today included), in the currency of most orders; other
    currencies are listed apart."""
    figures, by_day = statistics.summary_and_revenue_by_day(ctx.session, ctx.context, days)
    summary = SummarySchema().dump(figures)
    in_currency = (row for row in by_day if row["currency"] == summary["currency"])
    best = max(in_currency, key=lambda row: row["revenue"], default=None)
    summary["best_day"] = RevenueDaySchema().dump(best) if best else None
    return summary


@tool(
    permission="view_order",
    examples=("what are our best-selling products?", "top 5 products of the last 7 days"),
)
def top_products(ctx: ToolContext, days: int = 30, limit: int = 5) -> list[dict[str, Any]]:
    """Best-selling products by quantity over the last ``days`` whole days (today included),
    with revenue and orders."""
    rows = statistics.top_products(ctx.session, ctx.context, days, max(1, min(limit, 50)))
    return TopProductSchema(many=True).dump(rows)


@tool(
    permission="view_order",
    examples=(
        "how many Espresso Beans do we have left?",
        "is SKU CAF-001 in stock?",
        "how much Oat Milk is left?",
    ),
)
def product_stock(ctx: ToolContext, product: str) -> list[dict[str, Any]]:
    """Stock and price of the catalog product ``product`` names (its name in any case or
    with typos, or its SKU), or of each product it could mean."""
    found = lookup.find_products(ctx.session, ctx.context, product)
    return ProductSchema(many=True, only=("id", "name", "sku", "price", "stock")).dump(
        found.candidates
    )


@tool(
    permission="view_order",
    examples=("look up the product espreso beans", "which product is sku caf-001?"),
)
def lookup_product(ctx: ToolContext, query: str) -> dict[str, Any]:
    """Find one catalog product from what was typed: its name in any case or with typos,
    its SKU or its id. Gives the product (``match``) or, when the name fits several, the
    ``candidates`` to choose from; use the chosen product's name or id in other tools."""
    found = lookup.find_products(ctx.session, ctx.context, query)
    return found.as_json(ProductSchema(only=("id", "name", "sku", "price", "stock")).dump)


@tool(
    permission="view_order",
    examples=("look up order 3f2a9c1e-…", "find the orders of ann@example.com"),
)
def lookup_order(ctx: ToolContext, query: str) -> dict[str, Any]:
    """Find orders from what was typed: an order id (matched exactly), an order number
    (1042, #1042), a shop's order reference, or the customer's email, phone or name (their
    orders, newest first). Gives the order (``match``) or the ``candidates``."""
    found = lookup.find_orders(ctx.session, ctx.context, query)
    fields = ("id", "number", "status", "customer_name", "total", "currency", "order_date")
    return found.as_json(OrderSchema(only=fields).dump)


TOOLS = (
    get_order,
    search_orders,
    order_stats,
    top_products,
    product_stock,
    lookup_product,
    lookup_order,
)
