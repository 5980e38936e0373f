"""Assistant tools: the sales forecast and customer segments, answered through the services."""

from __future__ import annotations

from typing import Any

from assistant.tools import ToolContext, tool
from core.errors import Invalid
from plugins.analytics import sales, segments

MAX_LISTED = 50


@tool(
    permission="view_predictions",
    examples=("what will we sell next week?", "forecast revenue for the next 30 days"),
)
def sales_forecast(ctx: ToolContext, days: int = 7) -> dict[str, Any]:
    """Predicted revenue of the next ``days`` days from today (7 = the coming week): the
    total, each day with its 80 % and 95 % intervals, the model and its backtest MASE."""
    if not 1 <= days <= sales.MAX_FORECAST_DAYS:
        raise Invalid(errors={"days": [f"from 1 to {sales.MAX_FORECAST_DAYS}"]})
    return sales.forecast_total(ctx.session, ctx.context, days)


@tool(
    permission="view_segments",
    examples=(
        "who are our champions?",
        "how many customers are at risk?",
        "list the customers we can't lose",
    ),
)
def customers_in_segment(ctx: ToolContext, segment: str, limit: int = 10) -> dict[str, Any]:
    """How many customers the latest segmentation puts in an RFM ``segment`` (Champions,
    Loyal Customers, At Risk, Can't Lose Them, Hibernating, Lost, ...) and the biggest
    spenders among them."""
    if not 1 <= limit <= MAX_LISTED:
        raise Invalid(errors={"limit": [f"from 1 to {MAX_LISTED}"]})
    name = segments.canonical_segment(segment)
    run = segments.latest_run(ctx.session, ctx.context)
    summary = segments.run_summary(ctx.session, run)
    figures = next(row for row in summary["segmentation"] if row["RFMCategory"] == name)
    members = ctx.session.scalars(segments.segment_members(run, name).limit(limit)).all()
    return {
        "segment": name,
        "customers": figures["count"],
        "total_revenue": figures["total_revenue"],
        "of_customers": run.customers,
        "as_of": run.as_of.isoformat(),
        "top": [
            {
                "customer_name": member.customer_name,
                "total": float(member.monetary),
                "order_count": member.frequency,
                "days_since_last_order": member.recency_days,
            }
            for member in members
        ],
    }


@tool(permission="view_segments", examples=("how are our customers segmented?",))
def segment_overview(ctx: ToolContext) -> dict[str, Any]:
    """Customers and revenue in each RFM segment of the latest segmentation, with its
    algorithm and scores."""
    return segments.run_summary(ctx.session, segments.latest_run(ctx.session, ctx.context))
