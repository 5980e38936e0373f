"""A test plugin with assistant tools over in-memory data, independent of other plugins."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Literal

from assistant.tools import ToolContext, tool
from core.hookspecs import hookimpl

ALICE = uuid.UUID("00000000-0000-4000-8000-00000000a11c")
BOB = uuid.UUID("00000000-0000-4000-8000-000000000b0b")
CUSTOMERS = {
    ALICE: {"name": "Alice Martin", "email": "alice@example.com", "churn_risk": 0.82},
    BOB: {"name": "Bob Stone", "email": "bob.secret@example.com", "churn_risk": 0.15},
}
TODAY = date.today()
ORDERS = [
    {
        "order_number": 1042,
        "customer": ALICE,
        "status": "shipped",
        "total": 59.9,
        "placed": TODAY - timedelta(days=2),
    },
    {
        "order_number": 1043,
        "customer": BOB,
        "status": "pending",
        "total": 120.0,
        "placed": TODAY - timedelta(days=5),
    },
    {
        "order_number": 1001,
        "customer": BOB,
        "status": "delivered",
        "total": 15.5,
        "placed": TODAY - timedelta(days=40),
    },
]


def _order_view(order: dict) -> dict:
    return {k: v for k, v in order.items() if k != "customer"} | {
        "customer": CUSTOMERS[order["customer"]]["name"]
    }


@tool(
    "test_view_orders",
    examples=(
        "what is the status of order 1042?",
        "where is order #1042",
        "show me order number 1042",
        "has order 1042 shipped yet",
        "details of order 1042",
        "check the status of an order",
    ),
)
def order_status(ctx: ToolContext, order_number: int) -> dict:
    """Look up one order by its number: status, total and customer."""
    for order in ORDERS:
        if order["order_number"] == order_number:
            return _order_view(order)
    return {"error": f"No order {order_number}"}


@tool(
    "test_view_orders",
    examples=(
        "how many orders did we get in the last 7 days?",
        "number of orders this week",
        "count orders placed recently",
        "order volume over the past month",
        "how many sales did we make",
    ),
)
def order_count(
    ctx: ToolContext,
    days: int = 30,
    status: Literal["pending", "shipped", "delivered"] | None = None,
) -> dict:
    """Count the orders placed in the last ``days`` days, optionally with one status."""
    since = TODAY - timedelta(days=days)
    matching = [
        o for o in ORDERS if o["placed"] >= since and (status is None or o["status"] == status)
    ]
    return {
        "days": days,
        "orders": len(matching),
        "revenue": round(sum(o["total"] for o in matching), 2),
    }


@tool(
    "test_view_customers",
    examples=(
        "which customers are most likely to churn?",
        "customers at risk of leaving",
        "show churn risk of our customers",
        "list every customer's email",
        "who are our customers",
    ),
)
def customer_risks(ctx: ToolContext, limit: int = 10) -> dict:
    """List customers with their email and churn risk, highest risk first."""
    rows = sorted(CUSTOMERS.values(), key=lambda c: c["churn_risk"], reverse=True)
    return {"customers": rows[:limit]}


@tool(
    "test_view_orders",
    audiences=("customer", "operator"),
    examples=(
        "what are my orders",
        "show my recent purchases",
        "did my order ship",
        "list the things I bought",
        "my order history",
    ),
)
def my_orders(ctx: ToolContext) -> dict:
    """The calling customer's own orders (customer conversations only)."""
    customer = ctx.context.customer_id
    return {"orders": [_order_view(o) for o in ORDERS if o["customer"] == customer]}


@tool(
    "test_admin",
    examples=(
        "refund order 1042",
        "issue a refund",
        "give the money back for an order",
        "refund it",
        "make a refund",
    ),
)
def refund_order(ctx: ToolContext, order_number: int, amount: float | None = None) -> dict:
    """Refund an order (admins only)."""
    return {"refunded": order_number, "amount": amount}


@tool(
    "test_view_orders",
    examples=(
        "run the broken report",
        "broken report please",
        "crash test",
        "explode",
        "the failing report",
    ),
)
def broken_report(ctx: ToolContext) -> dict:
    """A report that always fails (tests error handling)."""
    raise RuntimeError("database on fire")


@hookimpl
def plugin_info():
    return {
        "name": "asstest",
        "version": "0",
        "description": "assistant test tools",
        "requires": ["assistant"],
    }


@hookimpl
def register_permissions(register):
    register("test_view_orders", "See test orders", min_role="viewer")
    register("test_view_customers", "See test customers", min_role="viewer")
    register("test_admin", "Refund test orders", min_role="admin")


@hookimpl
def register_tools(register):
    for item in (order_status, order_count, customer_risks, my_orders, refund_order, broken_report):
        register(item)
