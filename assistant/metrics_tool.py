"""The assistant's one tool over the metrics layer: any registered metric, any period.

Its schema enumerates the metrics and dimensions the loaded plugins registered (read from the
app's registry, a third-party plugin's metric included), so a model can only name what exists;
the engine checks each metric's permission and every filter value.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import current_app

from assistant.tools import Choices, ToolContext, tool
from core.metrics.engine import project_timezone, run_query
from core.metrics.periods import parse_period, today_in
from core.metrics.query import MetricQuery, parse_filters


def registered_metrics() -> list[str]:
    return sorted(current_app.extensions["nebulo"].registry.metrics)


def registered_dimensions() -> list[str]:
    """Every dimension of a registered metric, time grains included."""
    metrics = current_app.extensions["nebulo"].registry.metrics.values()
    return sorted({name for metric in metrics for name in metric.dimension_names})


MetricName = Annotated[str, Choices(registered_metrics)]
DimensionName = Annotated[str, Choices(registered_dimensions)]


@tool(permission="use_assistant")
def query_metrics(
    ctx: ToolContext,
    metrics: list[MetricName],
    period: str = "past 30 days",
    group_by: list[DimensionName] = (),
    filters: list[str] = (),
    compare: Literal["previous_period", "previous_year"] | None = None,
    order: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Figures from the metrics layer: one or more metrics over a period written in words
    ("yesterday", "last month", "Q3 2025", "since June 1", "past 14 days"), optionally grouped
    by up to two dimensions, filtered ("dimension:value[,value]", e.g. "status:paid"), ordered
    by a metric or dimension ("-revenue" for highest first), limited to the top rows, and
    compared with the previous period or the same period last year. The answer states the
    period (and the comparison period) as dates, the totals, the rows and the units."""
    timezone = project_timezone(ctx.session, ctx.context.project_id)
    query = MetricQuery(
        metrics=tuple(metrics),
        period=parse_period(period, today_in(timezone)),
        filters=parse_filters(list(filters)),
        group_by=tuple(group_by),
        order=order,
        limit=limit,
        compare=compare,
    )
    return run_query(ctx.session, ctx.context, query, timezone=timezone).as_json()
