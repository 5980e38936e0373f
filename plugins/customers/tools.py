"""Assistant tools: customers and their churn risk, answered from stored predictions."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from assistant.tools import ToolContext, tool
from core.schemas import isoformat_z
from plugins.customers import monitoring, predictions, services
from plugins.customers.lookup import find_customers
from plugins.customers.models import Customer


def _summary(customer: Customer) -> dict[str, Any]:
    return {
        "id": str(customer.id),
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "risk_score": customer.risk_score,
        "risk_tier": customer.risk_tier,
        "last_updated": isoformat_z(customer.last_updated),
    }


@tool(
    permission="view_customers",
    examples=(
        "find the customer anna@example.com",
        "who is the customer called Hargrave?",
        "search customers by name",
    ),
)
def find_customer(ctx: ToolContext, query: str, limit: int = 5) -> list[dict[str, Any]]:
    """Find the customers ``query`` names (a name in any case or with typos, an email, a
    phone or an id): the one meant, or each it could mean; with their ids and current churn
    risk. Use it to get a customer's id before asking for a profile."""
    found = find_customers(ctx.session, ctx.context, query)
    return [_summary(customer) for customer in found.candidates[: max(1, min(limit, 50))]]


@tool(
    permission="view_customers",
    examples=("look up the customer +1 415 555 0100", "which customer is anna hargrve?"),
)
def lookup_customer(ctx: ToolContext, query: str) -> dict[str, Any]:
    """Find one customer from what was typed: a name in any case, with typos or numbers, an
    email, a phone number or an id. Gives the customer (``match``) with their id for the other
    customer tools or, when the name fits several, the ``candidates`` to choose from."""
    return find_customers(ctx.session, ctx.context, query).as_json(_summary)


@tool(
    permission="view_customers",
    examples=("show me the profile of customer 5c1e…", "what is this customer's latest risk?"),
)
def customer_profile(ctx: ToolContext, customer_id: uuid.UUID) -> dict[str, Any]:
    """A customer's contact details, churn features, latest risk score and tier and their
    recent risk history."""
    detail = services.customer_detail(ctx.session, ctx.context, customer_id)
    return {
        name: (
            str(value)
            if isinstance(value, uuid.UUID)
            else float(value)
            if isinstance(value, Decimal)
            else isoformat_z(value)
            if isinstance(value, datetime)
            else value.isoformat()
            if hasattr(value, "isoformat")
            else value
        )
        for name, value in detail.items()
        if name not in ("project_id", "risk_history")
    } | {
        "risk_history": [
            {"score": point["score"], "timestamp": isoformat_z(point["timestamp"])}
            for point in detail["risk_history"][-10:]
        ]
    }


@tool(
    permission="view_predictions",
    examples=(
        "which customers are most likely to churn?",
        "list the 5 customers at highest risk of leaving",
        "who are our riskiest customers?",
        "customers who stopped buying",
    ),
)
def high_risk_customers(ctx: ToolContext, limit: int = 10) -> dict[str, Any]:
    """The customers most likely to churn, highest predicted risk first (each with its tier:
    low, medium or high), and how many customers are in each tier. Scores are the latest
    stored predictions of the project's trained churn model."""
    limit = max(1, min(limit, 100))
    customers = monitoring.riskiest_customers(ctx.session, ctx.context, limit)
    medium, high = predictions.risk_thresholds()
    return {
        "customers": [_summary(customer) for customer in customers],
        "risk_distribution": monitoring.current_risk_distribution(ctx.session, ctx.context),
        "thresholds": {"medium": medium, "high": high},
    }


@tool(
    permission="view_predictions",
    examples=("why is this customer at risk of churning?", "explain the risk of customer 5c1e…"),
)
def explain_risk(ctx: ToolContext, customer_id: uuid.UUID, top: int = 5) -> dict[str, Any]:
    """The features that raise or lower one customer's churn risk most: each factor's effect
    is the change in predicted risk when that feature is set to a typical customer's value."""
    explanation = predictions.explain_risk(
        ctx.session, ctx.context, customer_id, max(1, min(top, 10))
    )
    return {**explanation, "customer_id": str(explanation["customer_id"])}
