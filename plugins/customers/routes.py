"""/api/v1/customers/<project_id>: customers, predictions, risk monitoring, the churn model."""

from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from flask_smorest import Blueprint

from core.context import project_context
from core.db import get_session
from core.pagination import paginate
from plugins.customers import jobs, monitoring, predictions, services, training
from plugins.customers.schemas import (
    AlertArgs,
    AlertSchema,
    BatchPredictRequestSchema,
    CustomerChangesSchema,
    CustomerDetailSchema,
    CustomerInputSchema,
    CustomerListArgs,
    CustomerSchema,
    DashboardArgs,
    DashboardSchema,
    JobAcceptedSchema,
    ModelInfoSchema,
    PredictionSchema,
    PredictRequestSchema,
)

blp = Blueprint(
    "customers",
    __name__,
    url_prefix="/customers",
    description="Customers, churn-risk predictions, monitoring and the churn model",
)


@blp.route("/<uuid:project_id>")
class Customers(MethodView):
    @blp.arguments(CustomerListArgs, location="query")
    @blp.response(200, CustomerSchema(many=True))
    def get(self, args, project_id: UUID):
        """Customers, searchable by name, email or phone and sortable (X-Pagination header)."""
        ctx = project_context(project_id, "view_customers")
        return paginate(get_session(), services.list_customers(ctx, args), args)

    @blp.arguments(CustomerInputSchema)
    @blp.response(201, CustomerSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="Email or channel id taken")
    def post(self, data, project_id: UUID):
        """Create a customer; the email and channel ids are unique within the project."""
        session = get_session()
        customer = services.create_customer(
            session, project_context(project_id, "manage_customers"), data
        )
        session.commit()
        return customer


@blp.route("/<uuid:project_id>/<uuid:customer_id>")
class CustomerItem(MethodView):
    @blp.response(200, CustomerDetailSchema)
    def get(self, project_id: UUID, customer_id: UUID):
        """One customer with their latest risk history."""
        ctx = project_context(project_id, "view_customers")
        return services.customer_detail(get_session(), ctx, customer_id)

    @blp.arguments(CustomerChangesSchema)
    @blp.response(200, CustomerSchema)
    def patch(self, changes, project_id: UUID, customer_id: UUID):
        """Change some of a customer's fields."""
        return self._update(changes, project_id, customer_id)

    @blp.arguments(CustomerInputSchema)
    @blp.response(200, CustomerSchema)
    def put(self, changes, project_id: UUID, customer_id: UUID):
        """Change a customer (seed 002); fields left out keep their value."""
        return self._update(changes, project_id, customer_id)

    @staticmethod
    def _update(changes, project_id: UUID, customer_id: UUID):
        session = get_session()
        ctx = project_context(project_id, "manage_customers")
        customer = services.update_customer(session, ctx, customer_id, changes)
        session.commit()
        return customer

    @blp.response(204)
    def delete(self, project_id: UUID, customer_id: UUID):
        """Delete a customer with their risk history and alerts."""
        session = get_session()
        ctx = project_context(project_id, "manage_customers")
        services.delete_customer(session, ctx, customer_id)
        session.commit()


@blp.route("/<uuid:project_id>/predict")
class Predict(MethodView):
    @blp.arguments(PredictRequestSchema)
    @blp.response(200, PredictionSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="No model trained yet")
    def post(self, data, project_id: UUID):
        """Score one customer's churn risk now; stores a risk history point."""
        session = get_session()
        ctx = project_context(project_id, "view_predictions")
        prediction = predictions.predict_customer(session, ctx, data["customer_id"])
        session.commit()
        return prediction


@blp.route("/<uuid:project_id>/predict/batch")
class PredictBatch(MethodView):
    @blp.arguments(BatchPredictRequestSchema)
    @blp.response(202, JobAcceptedSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="No model trained yet")
    def post(self, data, project_id: UUID):
        """Score the given customers, or every customer, in a background job."""
        ctx = project_context(project_id, "manage_customers")
        ctx.require("view_predictions")
        job_id, message = jobs.start_batch_prediction(get_session(), ctx, data.get("customer_ids"))
        return {"job_id": job_id, "status": "queued", "message": message}


@blp.route("/<uuid:project_id>/risk/dashboard")
class RiskDashboard(MethodView):
    @blp.arguments(DashboardArgs, location="query")
    @blp.response(200, DashboardSchema)
    def get(self, args, project_id: UUID):
        """High-risk customers, the risk distribution and the daily risk trend."""
        ctx = project_context(project_id, "view_predictions")
        return monitoring.risk_dashboard(get_session(), ctx, args["days"], args["limit"])


@blp.route("/<uuid:project_id>/risk/alerts")
class RiskAlerts(MethodView):
    @blp.arguments(AlertArgs, location="query")
    @blp.response(200, AlertSchema(many=True))
    def get(self, args, project_id: UUID):
        """Alerts raised when customers entered high risk, with their webhook delivery outcome."""
        session = get_session()
        ctx = project_context(project_id, "view_predictions")
        alerts = paginate(session, monitoring.list_alerts(session, ctx, args), args)
        session.commit()
        return alerts


@blp.route("/<uuid:project_id>/model")
class ModelInfo(MethodView):
    @blp.response(200, ModelInfoSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="No model trained yet")
    def get(self, project_id: UUID):
        """The active churn model version: metrics, feature importance, when it was trained."""
        ctx = project_context(project_id, "view_predictions")
        return training.model_info(get_session(), ctx)


@blp.route("/<uuid:project_id>/model/train")
class ModelTrain(MethodView):
    @blp.response(202, JobAcceptedSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="Too few labelled customers")
    def post(self, project_id: UUID):
        """Train a new churn model version in a background job (GET /api/v1/jobs/{job_id})."""
        ctx = project_context(project_id, "train_models")
        job_id, message = jobs.start_training(get_session(), ctx)
        return {"job_id": job_id, "status": "queued", "message": message}
