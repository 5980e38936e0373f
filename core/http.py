"""Request plumbing shared by every route: id converter, content types, body size."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.routing import BaseConverter

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


def _accepted_types(app: Flask) -> tuple[str, ...]:
    view = app.view_functions.get(request.endpoint or "")
    handler = view
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, request.method.lower(), None)
    return getattr(handler, "_nebulo_content_types", (JSON,))


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
