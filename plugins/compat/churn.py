"""Seed 002, the churn-risk service: ``/api/customers/``, ``/api/predict/``,
``/api/monitoring/...`` and ``/api/model/...`` over the ``customers`` plugin's services, with
``{count, next, previous, results}`` pages and ``{"error"}`` bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from flask import g, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from core.context import Context
from core.db import get_session
from core.jobs_routes import visible_job
from core.pagination import paginate
from core.schemas import MAX_PAGE, StrictSchema
from plugins.compat.base import CompatBlueprint, bound_context, require_plugin
from plugins.customers import jobs, monitoring, predictions, services, training
from plugins.customers.schemas import CustomerInputSchema

blp = CompatBlueprint(
    "compat-002",
    __name__,
    profiles=("002",),
    style="002",
    prefixes=("/api/customers", "/api/predict", "/api/monitoring", "/api/model"),
    description="customers, predictions, monitoring and the churn model",
)
PLUGIN = "customers"


def context(permission: str) -> Context:
    """The caller in the bound project, once the ``customers`` plugin is known to be loaded."""
    require_plugin(PLUGIN)
    return bound_context(permission)


class ChurnPageArgs(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(load_default=10, validate=validate.Range(min=1, max=500))


class ChurnCustomerListArgs(ChurnPageArgs):
    search = fields.String(validate=validate.Length(min=1, max=200))
    sort_by = fields.String(
        load_default="created_at", validate=validate.OneOf(("id", "name", "risk_score"))
    )
    order = fields.String(load_default="asc", validate=validate.OneOf(("asc", "desc")))


class ChurnAlertListArgs(ChurnPageArgs):
    customer_id = fields.UUID()
    start_date = fields.Date()
    end_date = fields.Date()


class ChurnCustomerSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    risk_score = fields.Float(allow_none=True)
    last_updated = fields.DateTime()


class ChurnRiskPointSchema(Schema):
    score = fields.Float()
    timestamp = fields.DateTime()


class ChurnCustomerDetailSchema(ChurnCustomerSchema):
    risk_history = fields.List(fields.Nested(ChurnRiskPointSchema))


class ChurnAlertSchema(Schema):
    id = fields.UUID()
    customer_id = fields.UUID()
    alert_type = fields.String()
    message = fields.String()
    was_sent = fields.Boolean()
    error_message = fields.String(allow_none=True)
    created_at = fields.DateTime()


def page_schema(item: type[Schema]) -> type[Schema]:
    return Schema.from_dict(
        {
            "count": fields.Integer(),
            "next": fields.String(allow_none=True),
            "previous": fields.String(allow_none=True),
            "results": fields.List(fields.Nested(item)),
        },
        name=f"{item.__name__.removesuffix('Schema')}Page",
    )


class ChurnPredictRequestSchema(StrictSchema):
    customer_id = fields.UUID(required=True)


class ChurnPredictionSchema(Schema):
    customer_id = fields.UUID()
    risk_score = fields.Float()
    prediction_time = fields.DateTime()
    features_used = fields.Dict(keys=fields.String(), values=fields.Raw())


class ChurnBatchRequestSchema(StrictSchema):
    customer_ids = fields.List(
        fields.UUID(), required=True, validate=validate.Length(min=1, max=10_000)
    )


class ChurnTaskSchema(Schema):
    task_id = fields.UUID()
    status = fields.String()
    message = fields.String()


class ChurnTaskStatusSchema(ChurnTaskSchema):
    progress = fields.Integer()
    completed_at = fields.DateTime(allow_none=True)


class ChurnHighRiskSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    risk_score = fields.Float()
    last_updated = fields.DateTime()


class ChurnTrendPointSchema(Schema):
    date = fields.Date()
    average_risk = fields.Float()


class ChurnDashboardSchema(Schema):
    high_risk_customers = fields.List(fields.Nested(ChurnHighRiskSchema))
    risk_distribution = fields.Dict(keys=fields.String(), values=fields.Integer())
    risk_trend = fields.List(fields.Nested(ChurnTrendPointSchema))


class ChurnModelInfoSchema(Schema):
    model_version = fields.String()
    last_trained = fields.DateTime(attribute="trained_at")
    metrics = fields.Dict(keys=fields.String(), values=fields.Float())
    feature_importance = fields.Dict(keys=fields.String(), values=fields.Float())


def page(statement: Any, args: dict[str, Any]) -> dict[str, Any]:
    """One page in seed 002's envelope; ``next``/``previous`` are URLs, as Django's are."""
    results = paginate(get_session(), statement, args)
    pagination = g.pagination

    def url(number: int | None) -> str | None:
        if number is None:
            return None
        return request.base_url + "?" + urlencode({**request.args.to_dict(), "page": number})

    return {
        "count": pagination["total"],
        "next": url(pagination["next_page"]),
        "previous": url(pagination["previous_page"]),
        "results": results,
    }


@blp.route("/api/customers/")
class Customers(MethodView):
    @blp.arguments(ChurnCustomerListArgs, location="query")
    @blp.response(200, page_schema(ChurnCustomerSchema))
    def get(self, args):
        """Customers: ``search`` in name, email or phone, ``sort_by`` id, name or risk_score."""
        return page(services.list_customers(context("view_customers"), args), args)

    @blp.arguments(CustomerInputSchema)
    @blp.response(201, ChurnCustomerSchema)
    def post(self, data):
        """Create a customer (name, contact and the churn model's features)."""
        ctx = context("manage_customers")
        session = get_session()
        customer = services.create_customer(session, ctx, data)
        session.commit()
        return customer


@blp.route("/api/customers/<uuid:customer_id>/")
class CustomerItem(MethodView):
    @blp.response(200, ChurnCustomerDetailSchema)
    def get(self, customer_id: UUID):
        """One customer with their risk history."""
        ctx = context("view_customers")
        return services.customer_detail(get_session(), ctx, customer_id)

    @blp.arguments(CustomerInputSchema)
    @blp.response(200, ChurnCustomerSchema)
    def put(self, changes, customer_id: UUID):
        """Change a customer; fields left out keep their value."""
        ctx = context("manage_customers")
        session = get_session()
        customer = services.update_customer(session, ctx, customer_id, changes)
        session.commit()
        return customer

    @blp.response(204)
    def delete(self, customer_id: UUID):
        """Delete a customer with their risk history and alerts."""
        ctx = context("manage_customers")
        session = get_session()
        services.delete_customer(session, ctx, customer_id)
        session.commit()


@blp.route("/api/predict/")
class Predict(MethodView):
    @blp.arguments(ChurnPredictRequestSchema)
    @blp.response(200, ChurnPredictionSchema)
    def post(self, data):
        """Score one customer's churn risk now (409 until a model is trained)."""
        ctx = context("view_predictions")
        session = get_session()
        prediction = predictions.predict_customer(session, ctx, data["customer_id"])
        session.commit()
        return prediction


def task(job_id: UUID, message: str) -> dict[str, Any]:
    return {"task_id": job_id, "status": "queued", "message": message}


@blp.route("/api/predict/batch/")
class PredictBatch(MethodView):
    @blp.arguments(ChurnBatchRequestSchema)
    @blp.response(202, ChurnTaskSchema)
    def post(self, data):
        """Score the given customers in a background job; its status is at
        ``/api/model/train/{task_id}/`` as for training."""
        ctx = context("manage_customers")
        ctx.require("view_predictions")
        return task(*jobs.start_batch_prediction(get_session(), ctx, data["customer_ids"]))


@blp.route("/api/monitoring/dashboard/")
class Dashboard(MethodView):
    @blp.response(200, ChurnDashboardSchema)
    def get(self):
        """High-risk customers, the risk distribution and the daily risk trend (30 days)."""
        ctx = context("view_predictions")
        return monitoring.risk_dashboard(get_session(), ctx, 30, 10)


@blp.route("/api/monitoring/alerts/")
class Alerts(MethodView):
    @blp.arguments(ChurnAlertListArgs, location="query")
    @blp.response(200, page_schema(ChurnAlertSchema))
    def get(self, args):
        """Alerts raised when customers entered high risk, newest first."""
        ctx = context("view_predictions")
        session = get_session()
        alerts = page(monitoring.list_alerts(session, ctx, args), args)
        session.commit()
        return alerts


@blp.route("/api/model/info/")
class ModelInfo(MethodView):
    @blp.response(200, ChurnModelInfoSchema)
    def get(self):
        """The active churn model: version, metrics, feature importance (404 before training)."""
        version = training.model_info(get_session(), context("view_predictions"))
        return {
            "model_version": str(version.version),
            "trained_at": version.trained_at,
            "metrics": version.metrics,
            "feature_importance": version.feature_importance,
        }


@blp.route("/api/model/train/")
class ModelTrain(MethodView):
    @blp.response(202, ChurnTaskSchema)
    def post(self):
        """Train a new churn model version in a background job."""
        return task(*jobs.start_training(get_session(), context("train_models")))


@blp.route("/api/model/train/<uuid:task_id>/")
class ModelTrainStatus(MethodView):
    @blp.response(200, ChurnTaskStatusSchema)
    def get(self, task_id: UUID):
        """A training (or batch scoring) task's status, progress and end time."""
        context("view_predictions")
        job = visible_job(get_session(), task_id)
        return {
            "task_id": job.id,
            "status": job.status,
            "progress": job.progress,
            "message": job.message,
            "completed_at": job.ended_at,
        }
