"""What the analytics routes accept and return: seed 000's predict-sales and segment list,
seed 003's dashboard and ``customer_segments``."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.schemas import PageArgs, StrictSchema
from plugins.analytics.rfm import ALGORITHMS, K_RANGE, SEGMENTS
from plugins.analytics.sales import MAX_DATES, MAX_FORECAST_DAYS


def _algorithm(**kwargs) -> fields.String:
    return fields.String(
        validate=validate.OneOf(ALGORITHMS),
        metadata={"description": "kmeans or dbscan"},
        **kwargs,
    )


class PredictSalesArgs(StrictSchema):
    future_dates = fields.List(
        fields.String(validate=validate.Length(max=40)),
        required=True,
        validate=validate.Length(min=1, max=MAX_DATES),
        metadata={
            "description": "Days to forecast, repeated (future_dates=2026-12-01&future_dates="
            "2026-12-02): from today to 365 days ahead, YYYY-MM-DD"
        },
    )


class ForecastDaysArgs(StrictSchema):
    days = fields.Integer(
        load_default=30,
        validate=validate.Range(min=1, max=MAX_FORECAST_DAYS),
        metadata={
            "description": f"How many days from today (1..{MAX_FORECAST_DAYS}, 30 by default)"
        },
    )


class ForecastDaySchema(Schema):
    date = fields.String()
    revenue = fields.Float()
    low_80 = fields.Float()
    high_80 = fields.Float()
    low_95 = fields.Float()
    high_95 = fields.Float()


class BacktestSchema(Schema):
    metric = fields.String(metadata={"description": "MASE: mean absolute scaled error"})
    windows = fields.Integer()
    horizon_days = fields.Integer()
    candidates = fields.Dict(
        keys=fields.String(),
        values=fields.Float(allow_none=True),
        metadata={"description": "Each candidate's MASE; null when it failed to fit"},
    )
    mase = fields.Float(metadata={"description": "The chosen model's"})
    seasonal_naive_mase = fields.Float(allow_none=True, metadata={"description": "The floor's"})


class HistorySchema(Schema):
    start = fields.String()
    end = fields.String()
    days = fields.Integer()


class ForecastInfoSchema(Schema):
    model = fields.String(metadata={"description": "The candidate with the lowest backtest MASE"})
    backtest = fields.Nested(BacktestSchema)
    history = fields.Nested(HistorySchema)
    fitted_at = fields.DateTime()
    stale = fields.Boolean(
        metadata={"description": "Orders changed or days passed since the fit; a refit is due"}
    )


class PredictSalesSchema(ForecastInfoSchema):
    predictions = fields.List(
        fields.Float(), metadata={"description": "Revenue of each requested day (seed 000)"}
    )
    days = fields.List(fields.Nested(ForecastDaySchema))


class AnalyticsJobSchema(Schema):
    job_id = fields.UUID()
    status = fields.String()
    message = fields.String()


class SegmentListArgs(PageArgs):
    model = _algorithm(load_default="kmeans")
    segment = fields.String(
        validate=validate.OneOf(SEGMENTS), metadata={"description": "Only this named segment"}
    )


class CustomerSegmentSchema(Schema):
    customer_name = fields.String()
    total = fields.Float(attribute="monetary", metadata={"description": "Revenue in the window"})
    order_count = fields.Integer(attribute="frequency")
    segment = fields.Integer(attribute="cluster", metadata={"description": "Cluster; -1 is noise"})
    rfm_segment = fields.String(attribute="segment", metadata={"description": "R x FM name"})
    recency_days = fields.Integer()
    r_score = fields.Integer()
    f_score = fields.Integer()
    m_score = fields.Integer()


class SegmentSummaryArgs(StrictSchema):
    model = _algorithm(load_default="kmeans")


class SegmentRunCreateSchema(StrictSchema):
    algorithm = _algorithm(load_default="kmeans")
    clusters = fields.Integer(
        validate=validate.Range(min=K_RANGE.start, max=K_RANGE.stop - 1),
        metadata={"description": "k-means' k; chosen by silhouette when left out"},
    )


class SegmentCountSchema(Schema):
    RFMCategory = fields.String()
    count = fields.Integer()
    total_revenue = fields.Float()


class ClusterCountSchema(Schema):
    cluster = fields.Integer()
    count = fields.Integer()
    total_revenue = fields.Float()


class EvaluationSchema(Schema):
    silhouette_score = fields.Float(allow_none=True)
    davies_bouldin_index = fields.Float(allow_none=True)
    silhouette_sample = fields.Integer()
    note = fields.String()


class SegmentSummarySchema(Schema):
    run_id = fields.UUID()
    algorithm = fields.String()
    as_of = fields.String(metadata={"description": "Recency is counted from this day"})
    customers = fields.Integer()
    created_at = fields.DateTime()
    parameters = fields.Dict()
    segmentation = fields.List(fields.Nested(SegmentCountSchema))
    clusters = fields.List(fields.Nested(ClusterCountSchema))
    evaluation = fields.Nested(EvaluationSchema)


class AnalyticsDashboardArgs(StrictSchema):
    start_date = fields.Date(metadata={"description": "First day; 30 days before end_date"})
    end_date = fields.Date(metadata={"description": "Last day; today by default"})
    model = _algorithm(load_default="kmeans")


class AnalyticsDashboardSchema(Schema):
    start_date = fields.String()
    end_date = fields.String()
    total_sales = fields.Float(allow_none=True)
    total_transactions = fields.Integer(allow_none=True)
    products_sold = fields.Integer(allow_none=True)
    new_memberships = fields.Integer(
        allow_none=True, metadata={"description": "Null without the memberships plugin"}
    )
    customer_segments = fields.Nested(SegmentSummarySchema, allow_none=True)
