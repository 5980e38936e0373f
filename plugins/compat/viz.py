"""Seed 000, NebuloViz: ``/api/v1/orders/`` and ``/api/v1/ai/...`` over the ``orders`` and
``analytics`` plugins' services. Its login, ``/api/v1/auth/login/`` with ``username``, is
Nebulo's own login, whose answer holds 000's ``access_token`` and ``token_type``; its
``{"detail"}`` error body is part of Nebulo's.

Path rule: with 000 mounted, ``/api/v1/orders/{id}/`` *with* the trailing slash is 000's order;
Nebulo's own ``/api/v1/orders/{project_id}`` is called without it.
"""

from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from core.context import Context
from core.db import get_session
from core.limits import rate_limit
from core.schemas import MAX_OFFSET, MessageSchema, StrictSchema
from plugins.analytics import sales, segments
from plugins.analytics.schemas import CustomerSegmentSchema, PredictSalesArgs
from plugins.compat.base import CompatBlueprint, bound_context, require_plugin
from plugins.orders import services as orders
from plugins.orders.schemas import OrderCreateSchema

blp = CompatBlueprint(
    "compat-000",
    __name__,
    profiles=("000",),
    style=None,
    prefixes=(),
    description="sales orders and AI insights",
)


def context(permission: str) -> Context:
    require_plugin("orders")
    return bound_context(permission)


class VizListArgs(StrictSchema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


class VizCreatedSchema(Schema):
    order_id = fields.UUID(attribute="id")


class VizOrderRowSchema(VizCreatedSchema):
    customer_name = fields.String(allow_none=True)
    created_at = fields.DateTime()


class VizItemSchema(Schema):
    product_name = fields.String(attribute="name")
    quantity = fields.Integer()
    price = fields.Float(attribute="unit_price")


class VizOrderSchema(VizOrderRowSchema):
    items = fields.List(fields.Nested(VizItemSchema))


@blp.route("/api/v1/orders/")
class Orders(MethodView):
    @blp.arguments(VizListArgs, location="query")
    @blp.response(200, VizOrderRowSchema(many=True))
    def get(self, args):
        """Orders, newest first, ``limit``/``offset`` paged."""
        ctx = context("view_order")
        statement = orders.list_orders(ctx, {}).limit(args["limit"]).offset(args["offset"])
        return get_session().scalars(statement).all()

    @rate_limit("NEBULO_RATE_LIMIT_CREATE_ORDER")
    @blp.arguments(OrderCreateSchema)
    @blp.response(201, VizCreatedSchema)
    def post(self, data):
        """Create an order from ``customer_name`` and items by ``product_name``."""
        ctx = context("create_order")
        session = get_session()
        order = orders.create_order(session, ctx, data)
        session.commit()
        return order


@blp.route("/api/v1/orders/<uuid:order_id>/")
class OrderItem(MethodView):
    @blp.response(200, VizOrderSchema)
    def get(self, order_id: UUID):
        """One order with its items."""
        return orders.get_order(get_session(), context("view_order"), order_id)

    @blp.response(200, MessageSchema)
    def delete(self, order_id: UUID):
        """Delete an order; a pending order gives its stock back."""
        ctx = context("delete_order")
        session = get_session()
        orders.delete_order(session, ctx, order_id)
        session.commit()
        return {"message": "Order deleted successfully."}


class VizPredictionsSchema(Schema):
    predictions = fields.List(fields.Float())


@blp.route("/api/v1/ai/predict-sales/")
class PredictSales(MethodView):
    @rate_limit("NEBULO_RATE_LIMIT_PREDICT_SALES")
    @blp.arguments(PredictSalesArgs, location="query")
    @blp.response(200, VizPredictionsSchema)
    def get(self, args):
        """Forecast revenue of the given days (409 until a forecast is fitted)."""
        require_plugin("analytics")
        ctx = bound_context("view_predictions")
        return sales.predict_sales(get_session(), ctx, args["future_dates"])


@blp.route("/api/v1/ai/segment-customers/")
class SegmentCustomers(MethodView):
    @rate_limit("NEBULO_RATE_LIMIT_SEGMENTS")
    @blp.response(200, CustomerSegmentSchema(many=True))
    def get(self):
        """Customers of the newest segmentation, biggest spenders first (404 before one ran)."""
        require_plugin("analytics")
        ctx = bound_context("view_segments")
        session = get_session()
        run = segments.latest_run(session, ctx)
        return session.scalars(segments.segment_members(run)).all()
