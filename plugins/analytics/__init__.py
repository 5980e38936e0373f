"""Plugin ``analytics``: the sales forecast (seed 000 predict-sales), RFM customer segments
with k-means or DBSCAN (seeds 000 and 003) and seed 003's dashboard."""

from __future__ import annotations

from pathlib import Path

from core.config import Setting
from core.hookspecs import hookimpl

ORDER_EVENTS = ("order.created", "order.updated", "order.deleted")


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


@hookimpl
def plugin_info():
    return {
        "name": "analytics",
        "version": "1.0.0",
        "description": "Sales forecast, RFM customer segments (k-means, DBSCAN) and dashboard",
        "requires": ["customers", "orders"],
        "nebulo": ">=1.1,<2",  # run_periodic
    }


@hookimpl
def register_settings(register):
    for name, default, description, parse in (
        (
            "NEBULO_RATE_LIMIT_PREDICT_SALES",
            "5/minute",
            "predict-sales requests per user (or API key) and period (seed 000: 5 per minute)",
            str,
        ),
        (
            "NEBULO_RATE_LIMIT_SEGMENTS",
            "5/minute",
            "Segment list requests per user (or API key) and period (seed 000: 5 per minute)",
            str,
        ),
        (
            "NEBULO_FORECAST_HISTORY_DAYS",
            1095,
            "Days of daily revenue, up to yesterday, the sales forecast is fitted on",
            _positive,
        ),
        (
            "NEBULO_FORECAST_BACKTEST_WINDOWS",
            3,
            "Origins of the rolling-origin backtest that picks the forecast model",
            _positive,
        ),
        (
            "NEBULO_FORECAST_BACKTEST_DAYS",
            14,
            "Days each backtest origin forecasts and is scored on (MASE)",
            _positive,
        ),
        (
            "NEBULO_FORECAST_REFIT_MINUTES",
            60,
            "Least minutes between two refits of a forecast that orders made stale",
            _positive,
        ),
        (
            "NEBULO_SEGMENT_HISTORY_DAYS",
            730,
            "Days of orders, up to the latest sale, that customers' RFM is computed from",
            _positive,
        ),
    ):
        register(Setting(name, default, description, parse))


@hookimpl
def register_permissions(register):
    register(
        "view_segments", "See customer segments and the analytics dashboard", min_role="viewer"
    )
    register("run_segmentation", "Segment the project's customers again", min_role="operator")


@hookimpl
def register_models(register):
    from plugins.analytics import models  # noqa: F401 - adds the tables to Base.metadata

    register(Path(__file__).parent / "migrations")


@hookimpl
def register_blueprints(register):
    from plugins.analytics.routes import blp

    register(blp)


@hookimpl
def register_jobs(register):
    from plugins.analytics import jobs

    register(jobs.fit_sales_forecast, retries=1, backoff=(60,))
    register(jobs.refit_stale_forecasts, retries=0)
    register(jobs.segment_customers, retries=1, backoff=(60,))


@hookimpl
def register_commands(cli):
    from plugins.analytics.cli import analytics

    cli.add_command(analytics)


@hookimpl
def register_tools(register):
    from plugins.analytics import tools

    register(tools.sales_forecast)
    register(tools.customers_in_segment)
    register(tools.segment_overview)


@hookimpl
def register_metrics(register):
    from plugins.analytics.metrics import METRICS

    for metric in METRICS:
        register(metric)


@hookimpl
def on_event(event):
    """Orders changed: mark the project's forecast stale; the periodic tick refits it."""
    if event.name not in ORDER_EVENTS:
        return
    from flask import current_app

    from plugins.analytics.sales import mark_stale

    with current_app.extensions["nebulo"].db.session_scope() as session:
        mark_stale(session, event.project_id)


@hookimpl
def run_periodic(now):
    """The debounced refit: stale forecasts due a refit are queued, once each."""
    from flask import current_app

    from plugins.analytics.jobs import queue_stale_refits

    with current_app.extensions["nebulo"].db.session_scope() as session:
        queue_stale_refits(session, now)


@hookimpl
def load_demo(project, session):
    """A forecast and a k-means segmentation of the demo orders."""
    from plugins.analytics import sales, segments

    ctx = sales.system_context(project.id)
    sales.fit_sales_forecast(session, ctx)
    segments.run_segmentation(session, ctx, "kmeans")
