"""``/api/auth/login/`` and ``/api/auth/refresh/``, shared by seed 002 and seed 004.

Both systems log in at the same path: 002 with ``username`` (JSON) and answers
``{access, refresh}``, 004 with ``email`` (JSON or a form, as its Python SDK sends) and answers
``{message, user}`` with a session cookie. One login serves both: it takes either identifier
in either body and answers the union, cookie included, so that each client finds its fields.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields

from core.auth import services, throttle
from core.auth.models import User
from core.auth.routes import LoginSchema, RefreshSchema
from core.db import get_session
from core.errors import Invalid
from core.http import accepts
from core.limits import rate_limit
from plugins.compat.base import CompatBlueprint, set_session_cookie

JSON_OR_FORM = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")
PUBLIC = {"security": []}

blp = CompatBlueprint(
    "compat-auth",
    __name__,
    profiles=("002", "004"),
    style="auth",
    prefixes=("/api/auth",),
    description="one login and refresh for both systems' clients",
)


def load_body(schema: Schema) -> dict[str, Any]:
    """A JSON body, or a form (the original systems' SDKs post forms), through ``schema``."""
    raw = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if raw is None:
        raise Invalid("The request body is not valid JSON", errors={"_schema": ["Not JSON."]})
    try:
        return schema.load(raw)
    except ValidationError as error:
        raise Invalid(errors=error.normalized_messages()) from None


def body_doc(schema: type[Schema]) -> dict[str, Any]:
    content = {media: {"schema": schema} for media in JSON_OR_FORM[:2]}
    return {"requestBody": {"required": True, "content": content}}


class NomeUserSchema(Schema):
    id = fields.UUID()
    email = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    is_verified = fields.Boolean(metadata={"description": "Whether the account is active"})


class SharedLoginSchema(Schema):
    access = fields.String(metadata={"description": "seed 002"})
    refresh = fields.String(metadata={"description": "seed 002"})
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    message = fields.String(metadata={"description": "seed 004"})
    user = fields.Nested(NomeUserSchema, metadata={"description": "seed 004"})


class SharedRefreshSchema(Schema):
    access = fields.String()
    refresh = fields.String()
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


def nome_user(user: User) -> dict[str, Any]:
    first, _, last = (user.name or "").partition(" ")
    return {
        "id": user.id,
        "email": user.email,
        "first_name": first,
        "last_name": last,
        "is_verified": user.is_active,
    }


def log_in(identifier: str, password: str) -> tuple[User, dict[str, Any]]:
    """Nebulo's login (the one of ``/api/v1/auth/login``): the user and their token pair."""
    session = get_session()
    user = services.authenticate(session, identifier, password)
    tokens = services.issue_tokens(session, user)
    session.commit()
    return user, tokens


@blp.route("/api/auth/login/")
class Login(MethodView):
    @blp.doc(**PUBLIC, **body_doc(LoginSchema))
    @accepts(*JSON_OR_FORM)
    @blp.response(200, SharedLoginSchema)
    @rate_limit("auth")
    @throttle.failed_logins
    def post(self):
        """Log in with ``username`` (seed 002) or ``email`` (seed 004): tokens, the user and a
        session cookie, which authenticates the following requests as a bearer token does."""
        data = load_body(LoginSchema())
        user, tokens = log_in(data.get("email") or data["username"], data["password"])
        body = SharedLoginSchema().dump(
            {
                **tokens,
                "access": tokens["access_token"],
                "refresh": tokens["refresh_token"],
                "message": "Login successful",
                "user": nome_user(user),
            }
        )
        return set_session_cookie(jsonify(body), tokens["access_token"])


@blp.route("/api/auth/refresh/")
class Refresh(MethodView):
    @blp.doc(**PUBLIC)
    @blp.arguments(RefreshSchema)
    @blp.response(200, SharedRefreshSchema)
    @rate_limit("auth")
    def post(self, data):
        """Exchange ``refresh`` (seed 002) for a new ``access`` token (and a new refresh)."""
        session = get_session()
        tokens = services.rotate_refresh_token(
            session, data.get("refresh_token") or data["refresh"]
        )
        session.commit()
        return {**tokens, "access": tokens["access_token"], "refresh": tokens["refresh_token"]}
