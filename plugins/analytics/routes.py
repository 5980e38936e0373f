"""/api/v1/analytics/<project_id>: sales forecast (seed 000 predict-sales), customer segments
(seed 000 segment-customers, seed 003 customer_segments) and seed 003's dashboard."""

from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from flask_smorest import Blueprint

from core.context import project_context
from core.db import get_session
from core.errors import NotFound
from core.jobs import enqueue
from core.limits import rate_limit
from core.pagination import paginate
from plugins.analytics import dashboard, jobs, sales, segments
from plugins.analytics.schemas import (
    AnalyticsDashboardArgs,
    AnalyticsDashboardSchema,
    AnalyticsJobSchema,
    CustomerSegmentSchema,
    ForecastDaysArgs,
    ForecastDaySchema,
    ForecastInfoSchema,
    PredictSalesArgs,
    PredictSalesSchema,
    SegmentListArgs,
    SegmentRunCreateSchema,
    SegmentSummaryArgs,
    SegmentSummarySchema,
)

blp = Blueprint(
    "analytics",
    __name__,
    url_prefix="/analytics",
    description="Sales forecast, RFM customer segments and the dashboard (seeds 000, 003)",
)


@blp.route("/<uuid:project_id>/predict-sales")
class PredictSales(MethodView):
    @rate_limit("NEBULO_RATE_LIMIT_PREDICT_SALES")
    @blp.arguments(PredictSalesArgs, location="query")
    @blp.response(200, PredictSalesSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="No forecast fitted yet")
    def get(self, args, project_id: UUID):
        """Forecast revenue of the given days from the stored model, with 80 % and 95 %
        intervals, the model used and its backtest MASE."""
        ctx = project_context(project_id, "view_predictions")
        return sales.predict_sales(get_session(), ctx, args["future_dates"])


@blp.route("/<uuid:project_id>/forecast")
class Forecast(MethodView):
    @blp.response(200, ForecastInfoSchema)
    def get(self, project_id: UUID):
        """The stored forecast model: which candidate won, every candidate's MASE, history."""
        session = get_session()
        ctx = project_context(project_id, "view_predictions")
        row = sales.current_forecast(session, ctx)
        if row is None:
            raise NotFound("No sales forecast has been fitted for this project yet")
        return sales.describe(session, row)


@blp.route("/<uuid:project_id>/forecast/days")
class ForecastDays(MethodView):
    @blp.arguments(ForecastDaysArgs, location="query")
    @blp.response(200, ForecastDaySchema(many=True))
    @blp.alt_response(409, response="DEFAULT_ERROR", description="No forecast fitted yet")
    def get(self, args, project_id: UUID):
        """The next days from today as a plain list, each with its 80 % and 95 % intervals: what
        the console's forecast chart reads (predict-sales answers the same days, with the model)."""
        ctx = project_context(project_id, "view_predictions")
        return sales.forecast_total(get_session(), ctx, args["days"])["days"]


@blp.route("/<uuid:project_id>/forecast/refit")
class ForecastRefit(MethodView):
    @blp.response(202, AnalyticsJobSchema)
    def post(self, project_id: UUID):
        """Fit the forecast again in a background job (GET /api/v1/jobs/{job_id}); 422 when
        the project has too little sales history."""
        session = get_session()
        ctx = project_context(project_id, "train_models")
        sales.check_history(session, ctx)
        job_id = enqueue(
            jobs.fit_sales_forecast, str(project_id), project_id=project_id, user_id=ctx.user_id
        )
        return {"job_id": job_id, "status": "queued", "message": "Fitting the sales forecast"}


@blp.route("/<uuid:project_id>/segments")
class Segments(MethodView):
    @rate_limit("NEBULO_RATE_LIMIT_SEGMENTS")
    @blp.arguments(SegmentListArgs, location="query")
    @blp.response(200, CustomerSegmentSchema(many=True))
    def get(self, args, project_id: UUID):
        """Customers of the newest run of ``model``, biggest spenders first (seed 000:
        customer_name, total, order_count, segment), with their RFM scores (X-Pagination)."""
        session = get_session()
        ctx = project_context(project_id, "view_segments")
        run = segments.latest_run(session, ctx, args["model"])
        return paginate(session, segments.segment_members(run, args.get("segment")), args)


@blp.route("/<uuid:project_id>/segments/summary")
class SegmentSummary(MethodView):
    @blp.arguments(SegmentSummaryArgs, location="query")
    @blp.response(200, SegmentSummarySchema)
    def get(self, args, project_id: UUID):
        """Seed 003's customer_segments of the newest run of ``model``: customers and revenue
        per RFM segment and per cluster, silhouette and Davies-Bouldin."""
        session = get_session()
        ctx = project_context(project_id, "view_segments")
        return segments.run_summary(session, segments.latest_run(session, ctx, args["model"]))


@blp.route("/<uuid:project_id>/segments/runs")
class SegmentRuns(MethodView):
    @blp.arguments(SegmentRunCreateSchema)
    @blp.response(202, AnalyticsJobSchema)
    def post(self, data, project_id: UUID):
        """Segment every customer in a background job (GET /api/v1/jobs/{job_id})."""
        ctx = project_context(project_id, "run_segmentation")
        job_id = enqueue(
            jobs.segment_customers,
            str(project_id),
            data["algorithm"],
            data.get("clusters"),
            project_id=project_id,
            user_id=ctx.user_id,
        )
        return {"job_id": job_id, "status": "queued", "message": "Segmenting customers"}


@blp.route("/<uuid:project_id>/dashboard")
class Dashboard(MethodView):
    @blp.arguments(AnalyticsDashboardArgs, location="query")
    @blp.response(200, AnalyticsDashboardSchema)
    def get(self, args, project_id: UUID):
        """Seed 003's dashboard: total sales, transactions, products sold and new memberships
        of the period, and the newest segmentation of ``model``."""
        ctx = project_context(project_id, "view_segments")
        return dashboard.dashboard(
            get_session(), ctx, args.get("start_date"), args.get("end_date"), args["model"]
        )
