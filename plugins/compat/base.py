"""What every compatibility profile shares: mounting at the original paths, the profile's own
error bodies, session cookies, and which project a request without one in its path acts in.

A profile is one of the original systems (``../seeds``): ``000`` NebuloViz, ``002`` the
churn-risk service, ``003`` the retail backend, ``004`` Nome.ai. ``NEBULO_COMPAT`` names the
profiles to mount; a profile that is off mounts nothing and documents nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core.context import Context, current_principal, project_context
from core.db import get_session
from core.errors import BadRequest, NotFound
from core.limits import CORE_LIMITS
from core.projects.services import default_project_id

PROFILES = {
    "000": "NebuloViz",
    "001": "multi-project e-commerce ops",
    "002": "churn-risk service",
    "003": "retail backend",
    "004": "Nome.ai",
}
MOUNTED = ("000", "002", "003", "004")
"""001's paths are Nebulo's own: it needs no compatibility routes."""
SESSION_COOKIE = "nebulo_session"
"""The access token of a login through a profile whose clients keep a cookie session (004)."""
COMPAT_KEY = "x-nebulo-compatibility"
ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503)


def parse_profiles(value: str) -> frozenset[str]:
    """``000,002`` -> the profiles to mount; an unknown name is a start-up error naming them."""
    names = frozenset(item.strip() for item in value.split(",") if item.strip())
    unknown = sorted(names - set(PROFILES))
    if unknown:
        raise ValueError(f"unknown profile(s) {', '.join(unknown)}; known: {', '.join(PROFILES)}")
    return names


def enabled_profiles(app: Flask | None = None) -> frozenset[str]:
    return (app or current_app).extensions["nebulo"].settings.get("NEBULO_COMPAT")


# ---- error bodies -------------------------------------------------------------------------


def _field_text(errors: dict[str, Any]) -> str:
    return "; ".join(f"{name}: {json.dumps(problems)}" for name, problems in errors.items())


def churn_error(status: int, body: dict[str, Any], headers: Any) -> dict[str, Any]:
    """Seed 002: ``{"error"}``; 400 adds ``detail``, 429 ``retry_after``."""
    error: dict[str, Any] = {"error": body["detail"]}
    if status == 400:
        error["detail"] = _field_text(body["errors"]) if body.get("errors") else body["detail"]
    if body.get("errors"):
        error["errors"] = body["errors"]
    if status == 429 and headers.get("Retry-After", "").isdigit():
        error["retry_after"] = int(headers["Retry-After"])
    return error


def nome_error(status: int, body: dict[str, Any], headers: Any) -> dict[str, Any]:
    """Seed 004: ``{"error"}``, with ``details`` by field when the data was invalid."""
    error: dict[str, Any] = {"error": body["detail"]}
    if body.get("errors"):
        error["error"] = "Invalid data provided"
        error["details"] = body["errors"]
    return error


def shared_auth_error(status: int, body: dict[str, Any], headers: Any) -> dict[str, Any]:
    """``/api/auth/*`` serves 002 and 004 clients alike: both bodies in one."""
    return {**churn_error(status, body, headers), **nome_error(status, body, headers)}


def retail_error(status: int, body: dict[str, Any], headers: Any) -> dict[str, Any]:
    """Seed 003's envelope: ``{"status": "error", "message", "data"}`` (data: field errors)."""
    return {"status": "error", "message": body["detail"], "data": body.get("errors")}


class ChurnErrorSchema(Schema):
    error = fields.String(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.Raw())
    retry_after = fields.Integer()


class NomeErrorSchema(Schema):
    error = fields.String(required=True)
    details = fields.Dict(keys=fields.String(), values=fields.Raw())


class SharedAuthErrorSchema(ChurnErrorSchema, NomeErrorSchema):
    pass


class RetailErrorSchema(Schema):
    status = fields.Constant("error", required=True)
    message = fields.String(required=True)
    data = fields.Raw(allow_none=True, required=True)


class ErrorStyle:
    """How one profile writes errors: its body, its schema, whether 422 is its 400."""

    def __init__(
        self,
        write: Callable[[int, dict[str, Any], Any], dict[str, Any]],
        schema: type[Schema],
        invalid_status: int = 400,
    ):
        self.write, self.schema, self.invalid_status = write, schema, invalid_status


STYLES = {
    "002": ErrorStyle(churn_error, ChurnErrorSchema),
    "004": ErrorStyle(nome_error, NomeErrorSchema),
    "auth": ErrorStyle(shared_auth_error, SharedAuthErrorSchema),
    # FastAPI, which seed 003 ran on, answers invalid data with 422 itself.
    "003": ErrorStyle(retail_error, RetailErrorSchema, invalid_status=422),
}
"""Seed 000's ``{"detail"}`` is already part of Nebulo's error body: it needs no rewriting."""


def rewrite_error(response: Response) -> Response:
    """Turn Nebulo's error body into the profile's, on the compatibility paths only."""
    if response.status_code < 400 or not response.is_json:
        return response
    style = STYLES.get(getattr(g, "compat_style", None) or style_of_path(request.path))
    body = response.get_json(silent=True)
    if style is None or not isinstance(body, dict) or not {"detail", "code"} <= set(body):
        return response
    status = style.invalid_status if response.status_code == 422 else response.status_code
    response.set_data(json.dumps(style.write(status, body, response.headers)))
    response.status_code = status
    return response


STYLE_PREFIXES = "compat_style_prefixes"
"""``app.extensions`` key: the path prefixes of each mounted style, so that a path no route
matched (404, 405, a malformed id) still answers in the style of the system it belongs to."""


def style_of_path(path: str) -> str | None:
    for style, prefixes in current_app.extensions.get(STYLE_PREFIXES, {}).items():
        if any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes):
            return style
    return None


# ---- mounting -----------------------------------------------------------------------------


class CompatBlueprint(Blueprint):
    """A blueprint of one profile's paths, mounted at the original path (not under
    ``/api/v1``) and only when ``NEBULO_COMPAT`` names one of its profiles.

    Its operations are tagged as compatibility routes (``x-nebulo-compatibility``) and
    document the profile's error body instead of Nebulo's.
    """

    def __init__(
        self,
        name: str,
        import_name: str,
        *,
        profiles: Iterable[str],
        style: str | None,
        prefixes: Iterable[str],
        description: str,
    ):
        self.profiles = frozenset(profiles)
        self.style = style
        self.prefixes = tuple(prefixes)
        systems = " and ".join(f"{PROFILES[p]} (seed {p})" for p in sorted(self.profiles))
        super().__init__(
            name, import_name, description=f"Compatibility routes of {systems}: {description}"
        )
        self.before_request(self._enter)
        self._prepare_doc_cbks.append(self._document_compat)

    def is_enabled(self, app: Flask) -> bool:
        return bool(self.profiles & enabled_profiles(app))

    def register(self, app: Flask, options: dict) -> None:
        if not self.is_enabled(app):
            return
        super().register(app, {**options, "url_prefix": None})
        if self.style is not None:
            prefixes = app.extensions.setdefault(STYLE_PREFIXES, {})
            prefixes[self.style] = (*prefixes.get(self.style, ()), *self.prefixes)
        _drop_limits_of_missing_plugins(app, self.name)
        after = app.after_request_funcs.setdefault(None, [])
        if rewrite_error not in after:
            after.insert(0, rewrite_error)

    def register_views_in_doc(self, api, app, spec, *, name, parameters):
        if self.is_enabled(app):
            super().register_views_in_doc(api, app, spec, name=name, parameters=parameters)

    def _enter(self) -> None:
        g.compat_style = self.style
        _session_cookie_as_bearer()

    def _document_compat(self, doc: dict, doc_info: dict, *, spec, **_kwargs) -> dict:
        """Mark the operation as a compatibility route and document its profile's errors."""
        doc[COMPAT_KEY] = sorted(self.profiles)
        if self.style is None:
            return doc
        style = STYLES[self.style]
        name = style.schema.__name__.removesuffix("Schema")
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=style.schema)
        responses = doc.setdefault("responses", {})
        responses.pop("default", None)
        error = {
            "description": "An error, in the original system's body",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
        for status in ERROR_STATUSES:
            responses.pop(status, None)
            responses.pop(str(status), None)
            if status != 422 or style.invalid_status == 422:
                responses[str(status)] = error
        return doc


def _drop_limits_of_missing_plugins(app: Flask, blueprint: str) -> None:
    """A view limited by a plugin's setting (``NEBULO_RATE_LIMIT_PERSONS``...) while that
    plugin is not loaded answers 404 naming it (:func:`require_plugin`) before any work, so
    this app serves it through a subclass without that limit instead of refusing to start."""
    known = set(CORE_LIMITS) | set(app.extensions["nebulo"].settings.plugin)
    for endpoint, view in list(app.view_functions.items()):
        if not endpoint.startswith(blueprint + "."):
            continue
        unlimited = {}
        for method in view.view_class.methods:
            handler = getattr(view.view_class, method.lower())
            marks = getattr(handler, "_nebulo_rate_limits", ())
            if any(mark.name not in known for mark in marks):
                unlimited[method.lower()] = _without_limits(handler)
        if unlimited:
            subclass = type(view.view_class.__name__, (view.view_class,), unlimited)
            app.view_functions[endpoint] = subclass.as_view(endpoint)


def _without_limits(handler: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return handler(*args, **kwargs)

    for name, value in vars(handler).items():
        if name != "_nebulo_rate_limits":
            setattr(call, name, value)
    return call


def _session_cookie_as_bearer() -> None:
    """A client that logged in through a cookie-session system (004) sends its cookie, not
    a header: the cookie's token then authenticates like ``Authorization: Bearer``."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or "Authorization" in request.headers or "X-API-Key" in request.headers:
        return
    request.environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    g.pop("claimed_principal", None)
    g.pop("principal", None)


def set_session_cookie(response: Response, access_token: str) -> Response:
    minutes = current_app.extensions["nebulo"].settings.access_token_minutes
    response.set_cookie(
        SESSION_COOKIE,
        access_token,
        max_age=minutes * 60,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response


# ---- which project, which plugin ----------------------------------------------------------


def bound_context(permission: str) -> Context:
    """The caller in the project this request acts in: an API key's project, else the user's
    default project (their only one, or the one they chose). Another project's ids are 404."""
    principal = current_principal()
    if principal.api_key_project_id is not None:
        return project_context(principal.api_key_project_id, permission)
    project_id = default_project_id(get_session(), principal.user_id)
    if project_id is None:
        raise BadRequest(
            "This path names no project and your account has no default one: choose it with "
            "PUT /api/v1/projects/{project_id}/default (a user with one project has it "
            "already), or call with an X-API-Key of the project"
        )
    return project_context(project_id, permission)


def require_plugin(name: str) -> None:
    """Answer 404 naming ``name`` when the plugin a feature lives in is not loaded."""
    record = current_app.extensions["nebulo"].plugins.records.get(name)
    if record is None or record.status != "loaded":
        raise NotFound(f"This feature needs the plugin {name!r}, which is not loaded here")
