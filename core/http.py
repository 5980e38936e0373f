"""Request plumbing shared by every route: id converter, content types, query parameters."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask_smorest import Api
from flask_smorest.spec.plugins import FlaskPlugin
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.routing import BaseConverter

from core.errors import Invalid

JSON = "application/json"
BODY_METHODS = ("POST", "PUT", "PATCH")


class InvalidId(BadRequest):
    code = 400


class UUIDConverter(BaseConverter):
    """Like werkzeug's uuid converter, but a malformed id is a clear 400, not a bare 404."""

    regex = r"[^/]+"

    def to_python(self, value: str) -> uuid.UUID:
        try:
            return uuid.UUID(value)
        except ValueError:
            raise InvalidId(f"{value!r} is not a valid id (expected a UUID)") from None

    def to_url(self, value: Any) -> str:
        return str(value)


def accepts(*content_types: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let a view take bodies other than JSON (multipart uploads, raw webhook payloads)."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view._nebulo_content_types = content_types  # type: ignore[attr-defined]
        return view

    return mark


def any_query_parameters(view: Any) -> Any:
    """Exempt a view (function or MethodView class) from the unknown-query-parameter check:
    a provider's webhook, whose provider chooses the parameters (WhatsApp's ``hub.*``), or a
    WebSocket, whose handshake is no API operation."""
    view._nebulo_any_query = True
    return view


def _view_marker(app: Flask, name: str, default: Any) -> Any:
    """A marker set by a decorator above on the method handling the request, else on its view."""
    view = app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, request.method.lower(), None) if view_class else None
    for marked in (handler, view_class, view):
        if hasattr(marked, name):
            return getattr(marked, name)
    return default


def _accepted_types(app: Flask) -> tuple[str, ...]:
    return _view_marker(app, "_nebulo_content_types", (JSON,))


def check_content_type(app: Flask) -> Callable[[], None]:
    def check() -> None:
        if request.method not in BODY_METHODS or request.endpoint is None:
            return
        has_body = (request.content_length or 0) > 0 or "chunked" in request.headers.get(
            "Transfer-Encoding", ""
        )
        if not has_body:
            return
        accepted = _accepted_types(app)
        if "*/*" in accepted or request.mimetype in accepted:
            return
        raise UnsupportedMediaType(
            f"Content-Type {request.mimetype or 'missing'} is not accepted here; "
            f"send {' or '.join(accepted)}"
        )

    return check


# Pages and files that are no API operation: the documentation and its assets, static files.
QUERY_UNCHECKED_BLUEPRINTS = ("api-docs", "docs_assets")
QUERY_UNCHECKED_ENDPOINTS = ("static",)


def documented_query_parameters(api: Api) -> dict[tuple[str, str], frozenset[str]]:
    """The query parameters the OpenAPI document lists, by (OpenAPI path, method)."""
    accepted: dict[tuple[str, str], frozenset[str]] = {}
    for path, item in api.spec.to_dict()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                names = {
                    p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"
                }
                accepted[(path, method)] = frozenset(names)
    return accepted


def check_query_parameters(app: Flask, api: Api) -> Callable[[], None]:
    """Unknown query parameters are a 422 naming the accepted ones, as unknown body fields are.

    webargs loads a query string with ``unknown=EXCLUDE`` whatever the schema says, and a view
    without a query schema never looks at it: a typo (``?stauts=paid``) was silently ignored.
    The check is made here, once, against the OpenAPI document, so what a route accepts and
    what it documents cannot differ. Views marked with :func:`any_query_parameters` and the
    documentation's own pages are exempt; an operation the document does not list takes none.
    """
    accepted_by_operation: dict[tuple[str, str], frozenset[str]] = {}

    def check() -> None:
        if not request.args or request.url_rule is None or request.method == "OPTIONS":
            return
        if (
            request.blueprint in QUERY_UNCHECKED_BLUEPRINTS
            or request.endpoint in QUERY_UNCHECKED_ENDPOINTS
            or _view_marker(app, "_nebulo_any_query", False)
        ):
            return
        if not accepted_by_operation:
            # Built at the first request: every blueprint is registered by then.
            accepted_by_operation.update(documented_query_parameters(api))
        method = "get" if request.method == "HEAD" else request.method.lower()
        path = FlaskPlugin.flaskpath2openapi(request.url_rule.rule)
        accepted = accepted_by_operation.get((path, method), frozenset())
        unknown = sorted(set(request.args) - accepted)
        if not unknown:
            return
        valid = ", ".join(sorted(accepted))
        message = (
            f"Unknown query parameter; valid ones: {valid}."
            if accepted
            else "Unknown query parameter; this operation takes none."
        )
        raise Invalid(
            f"Unknown query parameters: {', '.join(unknown)}. {message}",
            errors={name: [message] for name in unknown},
        )

    return check
