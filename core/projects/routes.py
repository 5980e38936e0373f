"""/api/v1/projects: projects (tenants), members, invitations and API keys."""

from __future__ import annotations

from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate

from core.auth.models import User
from core.context import current_user, project_context
from core.db import get_session
from core.pagination import paginate
from core.plugins import ROLES
from core.projects import services
from core.schemas import PageArgs, StrictSchema

blp = Blueprint(
    "projects", __name__, url_prefix="/projects", description="Projects, members, API keys"
)


def valid_timezone(name: str) -> None:
    """An IANA zone name such as ``Europe/Paris``: reports and stats group days by it."""
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise ValidationError(
            f"Unknown time zone {name!r}; use an IANA name such as Europe/Paris."
        ) from None


class ProjectSchema(StrictSchema):
    id = fields.UUID(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    timezone = fields.String(load_default="UTC", validate=valid_timezone)
    settings = fields.Dict(keys=fields.String(), load_default=dict)
    is_active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ProjectUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=2000))
    timezone = fields.String(validate=valid_timezone)
    settings = fields.Dict(keys=fields.String())
    is_active = fields.Boolean()


class MemberSchema(StrictSchema):
    user_id = fields.UUID(dump_only=True)
    email = fields.Email(required=True)
    name = fields.String(dump_only=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    created_at = fields.DateTime(dump_only=True)


class InvitationSchema(StrictSchema):
    """Who is invited: the same answer whether the email has an account or not."""

    id = fields.UUID(dump_only=True)
    email = fields.Email(required=True, validate=validate.Length(max=320))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    status = fields.Constant("pending", dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class RoleSchema(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class ApiKeySchema(StrictSchema):
    id = fields.UUID(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    scopes = fields.List(fields.String(), required=True)
    prefix = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True, allow_none=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)


class CreatedApiKeySchema(ApiKeySchema):
    key = fields.String(dump_only=True, metadata={"description": "The secret, shown only once"})


def _member_view(member, user) -> dict:
    return {
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "role": member.role,
        "created_at": member.created_at,
    }


@blp.route("")
class Projects(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ProjectSchema(many=True))
    def get(self, args):
        """Projects the caller is a member of."""
        session = get_session()
        return paginate(session, services.list_projects(current_user(session).id), args)

    @blp.arguments(ProjectSchema)
    @blp.response(201, ProjectSchema)
    def post(self, data):
        """Create a project; the caller becomes its owner."""
        session = get_session()
        project = services.create_project(session, current_user(session).id, data)
        session.commit()
        return project


@blp.route("/<uuid:project_id>")
class ProjectItem(MethodView):
    @blp.response(200, ProjectSchema)
    def get(self, project_id: UUID):
        """One project."""
        return services.read_project(get_session(), project_context(project_id, "view_project"))

    @blp.arguments(ProjectUpdateSchema)
    @blp.response(200, ProjectSchema)
    def patch(self, changes, project_id: UUID):
        """Change a project's name, description, timezone, settings or active flag."""
        session = get_session()
        project = services.update_project(
            session, project_context(project_id, "manage_project"), changes
        )
        session.commit()
        return project

    @blp.response(204)
    def delete(self, project_id: UUID):
        """Delete a project and all its data (owners only)."""
        session = get_session()
        services.delete_project(session, project_context(project_id, "delete_project"))
        session.commit()


class DefaultProjectSchema(StrictSchema):
    project_id = fields.UUID(dump_only=True)
    is_default = fields.Boolean(dump_only=True)


@blp.route("/<uuid:project_id>/default")
class DefaultProject(MethodView):
    @blp.response(200, DefaultProjectSchema)
    def put(self, project_id: UUID):
        """Make this project the caller's default: requests whose path names no project (the
        original systems' paths, plugin ``compat``) act in it. A user with one project has it
        as default without choosing."""
        session = get_session()
        services.set_default_project(session, project_context(project_id, "view_project"))
        session.commit()
        return {"project_id": project_id, "is_default": True}


@blp.route("/<uuid:project_id>/members")
class Members(MethodView):
    @blp.response(200, MemberSchema(many=True))
    def get(self, project_id: UUID):
        """Members of the project with their roles."""
        ctx = project_context(project_id, "view_project")
        rows = get_session().execute(services.list_members(ctx)).all()
        return [_member_view(member, user) for member, user in rows]

    @blp.arguments(InvitationSchema)
    @blp.response(201, InvitationSchema)
    def post(self, data, project_id: UUID):
        """Invite someone by email, with a role. They become a member when their account next
        logs in (or, without an account yet, once they register and log in); the answer does
        not say whether the email has an account."""
        session = get_session()
        ctx = project_context(project_id, "manage_members")
        invitation = services.invite_member(session, ctx, data["email"], data["role"])
        session.commit()
        return invitation


@blp.route("/<uuid:project_id>/members/<uuid:user_id>")
class MemberItem(MethodView):
    @blp.arguments(RoleSchema)
    @blp.response(200, MemberSchema)
    def patch(self, data, project_id: UUID, user_id: UUID):
        """Change a member's role."""
        session = get_session()
        ctx = project_context(project_id, "manage_members")
        member = services.change_member_role(session, ctx, user_id, data["role"])
        session.commit()
        return _member_view(member, session.get(User, member.user_id))

    @blp.response(204)
    def delete(self, project_id: UUID, user_id: UUID):
        """Remove a member from the project."""
        session = get_session()
        services.remove_member(session, project_context(project_id, "manage_members"), user_id)
        session.commit()


@blp.route("/<uuid:project_id>/invitations")
class Invitations(MethodView):
    @blp.response(200, InvitationSchema(many=True))
    def get(self, project_id: UUID):
        """Pending invitations of the project."""
        ctx = project_context(project_id, "manage_members")
        return list(get_session().scalars(services.list_invitations(ctx)))


@blp.route("/<uuid:project_id>/invitations/<uuid:invitation_id>")
class InvitationItem(MethodView):
    @blp.response(204)
    def delete(self, project_id: UUID, invitation_id: UUID):
        """Cancel a pending invitation."""
        session = get_session()
        ctx = project_context(project_id, "manage_members")
        services.cancel_invitation(session, ctx, invitation_id)
        session.commit()


@blp.route("/<uuid:project_id>/api-keys")
class ApiKeys(MethodView):
    @blp.response(200, ApiKeySchema(many=True))
    def get(self, project_id: UUID):
        """The project's API keys (without their secrets)."""
        ctx = project_context(project_id, "manage_api_keys")
        return list(get_session().scalars(services.list_api_keys(ctx)))

    @blp.arguments(ApiKeySchema)
    @blp.response(201, CreatedApiKeySchema)
    def post(self, data, project_id: UUID):
        """Create an API key for a machine client; the secret is in this response only."""
        session = get_session()
        ctx = project_context(project_id, "manage_api_keys")
        known = set(current_app.extensions["nebulo"].registry.permissions)
        key, secret = services.create_api_key(session, ctx, data["name"], data["scopes"], known)
        session.commit()
        key.key = secret
        return key


@blp.route("/<uuid:project_id>/api-keys/<uuid:key_id>")
class ApiKeyItem(MethodView):
    @blp.response(204)
    def delete(self, project_id: UUID, key_id: UUID):
        """Revoke an API key; requests with it get 401 from now on."""
        session = get_session()
        services.revoke_api_key(session, project_context(project_id, "manage_api_keys"), key_id)
        session.commit()
