"""/api/v1/metrics/<project_id>: the registered metrics, and queries over them (JSON or CSV)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate, validates_schema
from webargs.fields import DelimitedList

from core.context import project_context
from core.db import get_session
from core.metrics.engine import (
    MAX_GROUP_BY,
    MAX_LIMIT,
    project_timezone,
    run_query,
    visible_metrics,
)
from core.metrics.periods import COMPARISONS, EXAMPLES, requested_period, today_in
from core.metrics.query import MetricQuery, parse_filters
from core.metrics.registry import TIME_GRAINS, describe_dimension
from core.schemas import StrictSchema

blp = Blueprint(
    "metrics",
    __name__,
    url_prefix="/metrics",
    description="Figures from every plugin's metrics: one query engine, periods in words",
)

FORMATS = ("json", "csv")
NAME = fields.String(validate=validate.Length(min=1, max=100))


class MetricInfoSchema(StrictSchema):
    name = fields.String()
    label = fields.String()
    unit = fields.String(metadata={"enum": ["money", "count", "percent", "duration", "number"]})
    measure = fields.String()
    description = fields.String()
    dated = fields.Boolean(metadata={"description": "false: a figure about now, no period"})
    dimensions = fields.List(fields.String())
    words = fields.List(fields.String())
    examples = fields.List(fields.String())
    plugin = fields.String()


class DimensionInfoSchema(StrictSchema):
    name = fields.String()
    label = fields.String()
    values = fields.List(
        fields.String(),
        allow_none=True,
        metadata={"description": "Every value when the set is fixed (statuses); else null"},
    )
    words = fields.List(fields.String())


class MetricListSchema(StrictSchema):
    metrics = fields.List(fields.Nested(MetricInfoSchema))
    dimensions = fields.List(
        fields.Nested(DimensionInfoSchema),
        metadata={"description": "The declared dimensions of those metrics, by name"},
    )
    time_grains = fields.List(fields.String())
    comparisons = fields.List(fields.String())
    period_examples = fields.List(fields.String())
    timezone = fields.String()


class QueryFields(StrictSchema):
    """What a query says besides its metrics and filters (shared by POST and GET)."""

    period = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "In words: 'last month', 'Q3 2025', 'since June 1', ..."},
    )
    start = fields.Date(metadata={"description": "First day (with end, instead of period)"})
    end = fields.Date(metadata={"description": "Last day, included"})
    order = fields.String(
        validate=validate.Length(min=1, max=101),
        metadata={"description": "A metric or group-by name; '-name' for descending"},
    )
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_LIMIT))
    compare = fields.String(validate=validate.OneOf(COMPARISONS))

    @validates_schema
    def _period_given_once(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "period" in data and ("start" in data or "end" in data):
            raise ValidationError("Give period or start and end, not both", "period")
        if "period" not in data and ("start" not in data or "end" not in data):
            raise ValidationError("Give period, or start and end", "period")


class MetricQuerySchema(QueryFields):
    metrics = fields.List(NAME, required=True, validate=validate.Length(min=1, max=10))
    filters = fields.Dict(
        keys=NAME,
        values=fields.List(
            fields.String(validate=validate.Length(max=200)),
            validate=validate.Length(min=1, max=100),
        ),
        load_default=dict,
        metadata={"description": "Dimension -> values kept (any case), e.g. {'status': ['paid']}"},
    )
    group_by = fields.List(NAME, load_default=list, validate=validate.Length(max=MAX_GROUP_BY))


class MetricQueryArgs(QueryFields):
    metrics = DelimitedList(NAME, required=True, validate=validate.Length(min=1, max=10))
    filter = fields.List(
        fields.String(validate=validate.Length(min=3, max=2000)),
        load_default=list,
        metadata={"description": "dimension:value[,value...]; repeat for more dimensions"},
    )
    group_by = DelimitedList(NAME, load_default=list, validate=validate.Length(max=MAX_GROUP_BY))
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))


class FormatArgs(StrictSchema):
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))


class PeriodSchema(StrictSchema):
    start = fields.String(metadata={"format": "date", "description": "First day, included"})
    end = fields.String(metadata={"format": "date", "description": "Last day, included"})
    label = fields.String()


class MetricResultSchema(StrictSchema):
    metrics = fields.List(fields.Dict(keys=fields.String(), values=fields.String()))
    period = fields.Nested(PeriodSchema)
    comparison_period = fields.Nested(PeriodSchema, allow_none=True)
    timezone = fields.String()
    group_by = fields.List(fields.String())
    columns = fields.List(fields.String())
    rows = fields.List(
        fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True)),
        metadata={"description": "group-by values, each metric, <metric>_previous/_change"},
    )
    totals = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))
    comparison_totals = fields.Dict(
        keys=fields.String(), values=fields.Raw(allow_none=True), allow_none=True
    )
    changes = fields.Dict(
        keys=fields.String(),
        values=fields.Float(allow_none=True),
        allow_none=True,
        metadata={"description": "Change of each total against the comparison, in percent"},
    )
    units = fields.Dict(keys=fields.String(), values=fields.String())


def _answer(project_id: UUID, data: dict[str, Any], filters: dict, output: str) -> Any:
    ctx = project_context(project_id)
    session = get_session()
    timezone = project_timezone(session, project_id)
    period = requested_period(
        data.get("period"), data.get("start"), data.get("end"), today_in(timezone)
    )
    query = MetricQuery(
        metrics=tuple(data["metrics"]),
        period=period,
        filters=filters,
        group_by=tuple(data["group_by"]),
        order=data.get("order"),
        limit=data.get("limit"),
        compare=data.get("compare"),
    )
    result = run_query(session, ctx, query, timezone=timezone)
    if output == "csv":
        name = "-".join(query.metrics) + f"_{period.start}_{period.end}.csv"
        return Response(
            result.as_csv(),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return result.as_json()


@blp.route("/<uuid:project_id>")
class Metrics(MethodView):
    @blp.response(200, MetricListSchema)
    def get(self, project_id: UUID):
        """The metrics you may read here, with their dimensions, units and words."""
        ctx = project_context(project_id)
        metrics = visible_metrics(ctx)
        dimensions = {d.name: d for m in metrics for d in m.dimensions}
        return {
            "metrics": [m.describe() for m in metrics],
            "dimensions": [describe_dimension(d) for _, d in sorted(dimensions.items())],
            "time_grains": list(TIME_GRAINS),
            "comparisons": list(COMPARISONS),
            "period_examples": list(EXAMPLES),
            "timezone": project_timezone(get_session(), project_id),
        }


@blp.route("/<uuid:project_id>/query")
class MetricsQuery(MethodView):
    @blp.arguments(FormatArgs, location="query", as_kwargs=True)
    @blp.arguments(MetricQuerySchema)
    @blp.response(200, MetricResultSchema)
    def post(self, data: dict[str, Any], project_id: UUID, format: str):  # noqa: A002
        """Run a query: metrics, period (words or start/end), filters, group_by, order, limit,
        compare. ``?format=csv`` answers the rows as CSV (text/csv)."""
        return _answer(project_id, data, data["filters"], format)

    @blp.arguments(MetricQueryArgs, location="query")
    @blp.response(200, MetricResultSchema)
    def get(self, args: dict[str, Any], project_id: UUID):
        """The same query in the query string: ``metrics=revenue,orders&period=last+week&
        group_by=day&filter=status:paid,fulfilled&compare=previous_period&format=csv``."""
        return _answer(project_id, args, parse_filters(args["filter"]), args["format"])
