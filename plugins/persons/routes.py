"""/api/v1/persons/<project_id>: detections from cameras, persons, their history, statistics."""

from __future__ import annotations

from uuid import UUID

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from core.config import setting
from core.context import project_context
from core.db import get_session
from core.http import accepts
from core.limits import rate_limit
from plugins.persons import history, services, statistics, summary
from plugins.persons.schemas import (
    BiometricsSchema,
    DetectionFormSchema,
    DetectionResultSchema,
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

blp = Blueprint(
    "persons",
    __name__,
    url_prefix="/persons",
    description="Visitors seen by cameras: detections, re-identification, visits, statistics",
)


@blp.route("/<uuid:project_id>")
class Persons(MethodView):
    @blp.arguments(PersonListArgs, location="query")
    @blp.response(200, PersonPageSchema)
    def get(self, args, project_id: UUID):
        """Persons, most recently seen first, in seed 004's page envelope (no biometric data)."""
        ctx = project_context(project_id, "view_persons")
        return services.list_persons(get_session(), ctx, args["page"], args["page_size"])

    @rate_limit("NEBULO_RATE_LIMIT_PERSONS")
    @accepts("application/json", "multipart/form-data")
    @blp.doc(
        requestBody={
            "required": True,
            "content": {
                "application/json": {"schema": DetectionSchema},
                "multipart/form-data": {"schema": DetectionFormSchema},
            },
        }
    )
    @blp.response(201, DetectionResultSchema)
    def post(self, project_id: UUID):
        """Record a detection (JSON, or multipart with an image): a new visit of the known
        person it matches in this project, else a new person."""
        session = get_session()
        ctx = project_context(project_id, "persons")
        data, image = load_detection(request, setting("NEBULO_PERSONS_MAX_IMAGE_BYTES"))
        result = services.record_detection(session, ctx, data, image)
        session.commit()
        return result


@blp.route("/<uuid:project_id>/<uuid:person_id>")
class PersonItem(MethodView):
    @blp.response(200, PersonDetailSchema)
    def get(self, project_id: UUID, person_id: UUID):
        """One person with their carts and products (no biometric data: see .../biometrics)."""
        ctx = project_context(project_id, "view_persons")
        return history.person_detail(get_session(), ctx, person_id)

    @blp.arguments(PersonChangesSchema)
    @blp.response(200, PersonSchema)
    def put(self, changes, project_id: UUID, person_id: UUID):
        """Change a person (seed 004's PUT); fields left out keep their value."""
        return self._update(changes, project_id, person_id)

    @blp.arguments(PersonChangesSchema)
    @blp.response(200, PersonSchema)
    def patch(self, changes, project_id: UUID, person_id: UUID):
        """Change some of a person's fields."""
        return self._update(changes, project_id, person_id)

    @staticmethod
    def _update(changes, project_id: UUID, person_id: UUID):
        session = get_session()
        ctx = project_context(project_id, "manage_persons")
        person = services.update_person(session, ctx, person_id, changes)
        session.commit()
        return services.person_fields(person)

    @blp.response(204)
    def delete(self, project_id: UUID, person_id: UUID):
        """Erase a person: visits, vector, image and index entry; the face no longer matches."""
        session = get_session()
        ctx = project_context(project_id, "manage_persons")
        services.erase_person(session, ctx, person_id)
        session.commit()


@blp.route("/<uuid:project_id>/<uuid:person_id>/biometrics")
class PersonBiometrics(MethodView):
    @blp.response(200, BiometricsSchema)
    def get(self, project_id: UUID, person_id: UUID):
        """The person's face vector and image link: biometric data, its own permission."""
        ctx = project_context(project_id, "view_biometrics")
        return services.biometrics(get_session(), ctx, person_id)


@blp.route("/<uuid:project_id>/<uuid:person_id>/image")
class PersonImage(MethodView):
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="image/*")
    def get(self, project_id: UUID, person_id: UUID):
        """The person's image, to members holding the biometrics permission only."""
        ctx = project_context(project_id, "view_biometrics")
        data, media_type = services.person_image(get_session(), ctx, person_id)
        return Response(
            data,
            mimetype=media_type,
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
        )


@blp.route("/<uuid:project_id>/<uuid:person_id>/orders")
class PersonOrders(MethodView):
    @blp.response(200, PersonOrdersSchema)
    def get(self, project_id: UUID, person_id: UUID):
        """The person's orders (carts) with their products, through the orders plugin."""
        ctx = project_context(project_id, "view_persons")
        ctx.require("view_order")
        return history.person_orders(get_session(), ctx, person_id)


@blp.route("/<uuid:project_id>/<uuid:person_id>/summary")
class PersonSummary(MethodView):
    @blp.response(200, PersonSummarySchema)
    def get(self, project_id: UUID, person_id: UUID):
        """Total visits, favorite table and dishes, last visit, items ordered, and an
        ``ai_summary`` written by the assistant's provider from those figures."""
        ctx = project_context(project_id, "view_persons")
        ctx.require("view_order")
        return summary.person_summary(get_session(), ctx, person_id)


@blp.route("/<uuid:project_id>/statistics/visit-count")
class VisitCount(MethodView):
    @rate_limit("NEBULO_RATE_LIMIT_PERSONS_STATISTICS")
    @blp.arguments(VisitCountArgs, location="query")
    @blp.response(200, StatisticsPointSchema(many=True))
    def get(self, args, project_id: UUID):
        """Visits per hour or day, in the project's time zone (type: last_6_hours, day, week,
        month)."""
        ctx = project_context(project_id, "view_persons")
        return statistics.visit_counts(get_session(), ctx, args["type"])


def _visit_shares_view(kind: str) -> type[MethodView]:
    class VisitShares(MethodView):
        @rate_limit("NEBULO_RATE_LIMIT_PERSONS_STATISTICS")
        @blp.response(200, StatisticsPointSchema(many=True))
        def get(self, project_id: UUID):
            """Visits by body type, gender or age band (percentages) or by emotion (counts)."""
            ctx = project_context(project_id, "view_persons")
            return statistics.visit_shares(get_session(), ctx, kind)

    return VisitShares


for share_kind in statistics.SHARE_DIMENSIONS:
    blp.route(f"/<uuid:project_id>/statistics/{share_kind}", endpoint=f"statistics-{share_kind}")(
        _visit_shares_view(share_kind)
    )
