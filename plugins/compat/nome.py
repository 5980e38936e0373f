"""Seed 004, Nome.ai: ``/api/client/...`` persons, their history, statistics and bulk cart
products, over the ``persons`` and ``orders`` plugins' services, with ``{"error"}`` bodies.

Its cameras and dashboards log in at ``/api/auth/login/`` (``plugins.compat.auth``) and keep
the session cookie; a camera may send a project's ``X-API-Key`` instead.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Request, request
from flask.views import MethodView
from marshmallow import ValidationError, fields

from core.config import setting
from core.context import Context
from core.db import get_session
from core.errors import Invalid
from core.http import accepts
from core.limits import rate_limit
from plugins.compat.base import CompatBlueprint, bound_context, require_plugin
from plugins.orders import carts
from plugins.orders.schemas import BulkCartProductsResultSchema, BulkCartProductsSchema
from plugins.persons import history, services, statistics, summary
from plugins.persons.schemas import (
    DetectionFormSchema,
    DetectionSchema,
    PersonChangesSchema,
    PersonDetailSchema,
    PersonListArgs,
    PersonOrdersSchema,
    PersonPageSchema,
    PersonSchema,
    PersonSummarySchema,
    StatisticsPointSchema,
    VisitCountArgs,
    load_detection,
)

blp = CompatBlueprint(
    "compat-004",
    __name__,
    profiles=("004",),
    style="004",
    prefixes=("/api/client",),
    description="persons seen by cameras, their carts and summaries, statistics",
)


FORM = "application/x-www-form-urlencoded"


def context(permission: str, *plugins: str) -> Context:
    for plugin in ("persons", *plugins):
        require_plugin(plugin)
    return bound_context(permission)


class CreatedPersonSchema(PersonSchema):
    vector = fields.List(
        fields.Float(), allow_none=True, metadata={"description": "With view_biometrics only"}
    )
    image = fields.String(allow_none=True, metadata={"description": "With view_biometrics only"})


def detection(request: Request) -> tuple[dict[str, Any], bytes | None]:
    """The persons plugin's detection from JSON or multipart, or from a plain form: what
    seed 004's Python SDK sends (``session.post(url, data=...)``), without an image."""
    if request.mimetype != FORM:
        return load_detection(request, setting("NEBULO_PERSONS_MAX_IMAGE_BYTES"))
    try:
        return DetectionFormSchema(exclude=("image",)).load(request.form.to_dict()), None
    except ValidationError as error:
        raise Invalid(errors=error.normalized_messages()) from None


@blp.route("/api/client/person/")
class PersonCreate(MethodView):
    @rate_limit("NEBULO_RATE_LIMIT_PERSONS")
    @accepts("application/json", "multipart/form-data", FORM)
    @blp.doc(
        requestBody={
            "required": True,
            "content": {
                "application/json": {"schema": DetectionSchema},
                "multipart/form-data": {"schema": DetectionFormSchema},
                FORM: {"schema": DetectionFormSchema},
            },
        }
    )
    @blp.response(201, CreatedPersonSchema)
    def post(self):
        """A camera saw someone (JSON, a form or multipart with an image): a new visit of the
        known person the vector matches, else a new person."""
        ctx = context("persons")
        session = get_session()
        data, image = detection(request)
        result = services.record_detection(session, ctx, data, image)
        session.commit()
        biometric = {"vector": None, "image": None}
        if ctx.can("view_biometrics"):
            stored = services.biometrics(session, ctx, result["id"])
            biometric = {"vector": stored["vector"], "image": stored["image_url"]}
        return {**result, **biometric}


@blp.route("/api/client/person/<uuid:person_id>/")
class PersonItem(MethodView):
    @blp.arguments(PersonChangesSchema)
    @blp.response(200, PersonSchema)
    def put(self, changes, person_id: UUID):
        """Change a person's name, phone and attributes; fields left out keep their value."""
        ctx = context("manage_persons")
        session = get_session()
        person = services.update_person(session, ctx, person_id, changes)
        session.commit()
        return services.person_fields(person)


@blp.route("/api/client/persons/")
class Persons(MethodView):
    @blp.arguments(PersonListArgs, location="query")
    @blp.response(200, PersonPageSchema)
    def get(self, args):
        """Persons, most recently seen first, in seed 004's page envelope."""
        ctx = context("view_persons")
        return services.list_persons(get_session(), ctx, args["page"], args["page_size"])


@blp.route("/api/client/person/<uuid:person_id>/detail/")
class PersonDetail(MethodView):
    @blp.response(200, PersonDetailSchema)
    def get(self, person_id: UUID):
        """The person with their carts (at tables) and the products in them."""
        ctx = context("view_persons")
        return history.person_detail(get_session(), ctx, person_id)


@blp.route("/api/client/person/<uuid:person_id>/orders/")
class PersonOrders(MethodView):
    @blp.response(200, PersonOrdersSchema)
    def get(self, person_id: UUID):
        """The person's orders (carts) with their products."""
        ctx = context("view_persons", "orders")
        ctx.require("view_order")
        return history.person_orders(get_session(), ctx, person_id)


@blp.route("/api/client/person/<uuid:person_id>/summary/")
class PersonSummary(MethodView):
    @blp.response(200, PersonSummarySchema)
    def get(self, person_id: UUID):
        """Visits, favorite table and dishes, last visit, items and the ``ai_summary``."""
        ctx = context("view_persons", "orders")
        ctx.require("view_order")
        session = get_session()
        result = summary.person_summary(session, ctx, person_id)
        session.commit()
        return result


@blp.route("/api/client/statistics/visit-count/")
class VisitCount(MethodView):
    @rate_limit("NEBULO_RATE_LIMIT_PERSONS_STATISTICS")
    @blp.arguments(VisitCountArgs, location="query")
    @blp.response(200, StatisticsPointSchema(many=True))
    def get(self, args):
        """Visits per hour or day (type: last_6_hours, day, week, month)."""
        ctx = context("view_persons")
        return statistics.visit_counts(get_session(), ctx, args["type"])


def _shares_view(kind: str) -> type[MethodView]:
    class VisitShares(MethodView):
        @rate_limit("NEBULO_RATE_LIMIT_PERSONS_STATISTICS")
        @blp.response(200, StatisticsPointSchema(many=True))
        def get(self) -> list[dict[str, Any]]:
            """Visits by body type, gender or age band (percentages) or emotion (counts)."""
            ctx = context("view_persons")
            return statistics.visit_shares(get_session(), ctx, kind)

    return VisitShares


for share_kind in statistics.SHARE_DIMENSIONS:
    blp.route(f"/api/client/statistics/{share_kind}/", endpoint=f"statistics-{share_kind}")(
        _shares_view(share_kind)
    )


@blp.route("/api/client/cart-products/bulk/")
class CartProductsBulk(MethodView):
    @blp.arguments(BulkCartProductsSchema)
    @blp.response(201, BulkCartProductsResultSchema)
    def post(self, data):
        """Add products to pending carts, one unit per line; all of them or none."""
        ctx = context("update_order", "orders")
        session = get_session()
        added = carts.add_cart_products(session, ctx, data["cart_products"])
        session.commit()
        return carts.cart_products_result(ctx, added)
