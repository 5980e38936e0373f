"""/api/v1/auth: register, login, refresh, me, logout."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate, validates_schema

from core.auth import services, throttle
from core.context import current_principal, current_user
from core.db import get_session
from core.limits import rate_limit
from core.schemas import MessageSchema, StrictSchema

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Users, login and tokens")
PUBLIC = {"security": []}


class RegisterSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))
    name = fields.String(load_default="", validate=validate.Length(max=200))
    username = fields.String(
        validate=[validate.Length(min=3, max=64), validate.Regexp(r"^[A-Za-z0-9_.-]+$")]
    )


class UserSchema(StrictSchema):
    id = fields.UUID(dump_only=True)
    email = fields.String()
    username = fields.String(allow_none=True)
    name = fields.String()
    role = fields.Constant("user")
    is_active = fields.Boolean()
    created_at = fields.DateTime()


class LoginSchema(StrictSchema):
    """Log in with ``email`` or ``username`` (seed 000/002 use username, 001/004 email)."""

    email = fields.String(validate=validate.Length(max=320))
    username = fields.String(validate=validate.Length(max=320))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))

    @validates_schema
    def one_identifier(self, data, **_kwargs):
        if not data.get("email") and not data.get("username"):
            raise ValidationError("Give an email or a username.", "email")


class TokenSchema(StrictSchema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class RefreshSchema(StrictSchema):
    refresh_token = fields.String()
    refresh = fields.String(metadata={"description": "seed 002's name for refresh_token"})

    @validates_schema
    def one_token(self, data, **_kwargs):
        if not data.get("refresh_token") and not data.get("refresh"):
            raise ValidationError("Give the refresh_token.", "refresh_token")


@blp.route("/register")
class Register(MethodView):
    @blp.doc(**PUBLIC)
    @blp.arguments(RegisterSchema)
    @blp.response(201, UserSchema)
    @rate_limit("auth")
    def post(self, data):
        """Create a user account. An email (or username) that is taken answers 409, after the
        same work as a new account, so that timing adds nothing to what 409 says; the ``auth``
        limit per address bounds how many emails one can try."""
        session = get_session()
        user = services.register_user(session, **data)
        session.commit()
        return user


@blp.route("/login")
class Login(MethodView):
    @blp.doc(**PUBLIC)
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenSchema)
    @rate_limit("auth")
    @throttle.failed_logins
    def post(self, data):
        """Exchange email or username and password for an access and a refresh token."""
        session = get_session()
        user = services.authenticate(
            session, data.get("email") or data["username"], data["password"]
        )
        tokens = services.issue_tokens(session, user)
        session.commit()
        return tokens


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.doc(**PUBLIC)
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokenSchema)
    @rate_limit("auth")
    def post(self, data):
        """Rotate a refresh token: the old one stops working, a reused one revokes the session."""
        session = get_session()
        tokens = services.rotate_refresh_token(
            session, data.get("refresh_token") or data["refresh"]
        )
        session.commit()
        return tokens


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    def get(self):
        """The logged-in user."""
        return current_user(get_session())


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(200, MessageSchema)
    def post(self):
        """End this login session: its refresh and access tokens are revoked."""
        session = get_session()
        current_user(session)
        services.logout(session, current_principal().family_id)
        session.commit()
        return {"message": "Logged out"}
