"""/api/v1/memberships/<project_id>: memberships (seed 003) and the project's tier list."""

from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from flask_smorest import Blueprint

from core.context import project_context
from core.db import get_session
from core.pagination import paginate
from plugins.memberships import services
from plugins.memberships.schemas import (
    MembershipCreateSchema,
    MembershipListArgs,
    MembershipSchema,
    MembershipUpdateSchema,
    TierListSchema,
)

blp = Blueprint(
    "memberships",
    __name__,
    url_prefix="/memberships",
    description="Customers' memberships: tier and period (seed 003), and the tier list",
)


@blp.route("/<uuid:project_id>")
class Memberships(MethodView):
    @blp.arguments(MembershipListArgs, location="query")
    @blp.response(200, MembershipSchema(many=True))
    def get(self, args, project_id: UUID):
        """Memberships, newest period first, by customer, tier or status (X-Pagination)."""
        session = get_session()
        ctx = project_context(project_id, "view_memberships")
        return paginate(session, services.list_memberships(session, ctx, args), args)

    @blp.arguments(MembershipCreateSchema)
    @blp.response(201, MembershipSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="Overlaps another membership")
    def post(self, data, project_id: UUID):
        """Add a membership; it may not overlap another of the same customer."""
        session = get_session()
        ctx = project_context(project_id, "manage_memberships")
        membership = services.create_membership(session, ctx, data)
        session.commit()
        return membership


@blp.route("/<uuid:project_id>/tiers")
class Tiers(MethodView):
    @blp.response(200, TierListSchema)
    def get(self, project_id: UUID):
        """The project's tiers, lowest first (bronze, silver, gold, platinum until changed)."""
        ctx = project_context(project_id, "view_memberships")
        return {"tiers": services.list_tiers(get_session(), ctx)}

    @blp.arguments(TierListSchema)
    @blp.response(200, TierListSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="A removed tier is in use")
    def put(self, data, project_id: UUID):
        """Replace the tier list (admins); a tier still used by memberships cannot go."""
        session = get_session()
        ctx = project_context(project_id, "manage_membership_tiers")
        tiers = services.replace_tiers(session, ctx, data["tiers"])
        session.commit()
        return {"tiers": tiers}


@blp.route("/<uuid:project_id>/<uuid:membership_id>")
class MembershipItem(MethodView):
    @blp.response(200, MembershipSchema)
    def get(self, project_id: UUID, membership_id: UUID):
        """One membership."""
        ctx = project_context(project_id, "view_memberships")
        return services.get_membership(get_session(), ctx, membership_id)

    @blp.arguments(MembershipUpdateSchema)
    @blp.response(200, MembershipSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="Overlaps another membership")
    def put(self, changes, project_id: UUID, membership_id: UUID):
        """Change the period and tier (seed 003); the customer stays."""
        session = get_session()
        ctx = project_context(project_id, "manage_memberships")
        membership = services.update_membership(session, ctx, membership_id, changes)
        session.commit()
        return membership

    @blp.response(204)
    def delete(self, project_id: UUID, membership_id: UUID):
        """Delete a membership."""
        session = get_session()
        ctx = project_context(project_id, "manage_memberships")
        services.delete_membership(session, ctx, membership_id)
        session.commit()
