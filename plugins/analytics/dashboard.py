"""Seed 003's dashboard: sales figures of a period from the metrics layer, beside the latest
customer segmentation of the chosen algorithm."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.context import Context
from core.errors import Invalid, NotFound
from core.metrics import Period
from core.metrics.engine import metric_registry, run_query
from core.metrics.query import MetricQuery
from plugins.analytics import segments
from plugins.analytics.sales import project_today

DEFAULT_DAYS = 30
FIGURES = {
    "total_sales": "revenue",
    "total_transactions": "orders",
    "products_sold": "items_sold",
    "new_memberships": "new_memberships",
}
"""Dashboard field -> metric; one missing from the registry (its plugin is not loaded) is null."""


def dashboard(
    session: Session,
    ctx: Context,
    start_date: date | None,
    end_date: date | None,
    algorithm: str,
) -> dict[str, Any]:
    """Figures of ``start_date``..``end_date`` (the last 30 days by default) and the segments
    of the newest ``algorithm`` run (null until one has run)."""
    end = end_date or project_today(session, ctx.project_id)
    start = start_date or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise Invalid(errors={"end_date": [f"{end} is before start_date {start}"]})
    period = Period(start, end, f"{start} to {end}")
    registry = metric_registry()
    present = tuple(metric for metric in FIGURES.values() if metric in registry)
    totals = run_query(session, ctx, MetricQuery(metrics=present, period=period)).totals
    figures = {field: totals.get(metric) for field, metric in FIGURES.items()}
    try:
        run = segments.latest_run(session, ctx, algorithm)
    except NotFound:
        customer_segments = None
    else:
        customer_segments = segments.run_summary(session, run)
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        **figures,
        "customer_segments": customer_segments,
    }
