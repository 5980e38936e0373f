"""One error format for every failure: ``{"detail", "code", "timestamp"}`` (+ ``errors`` on 422).

Services raise the few exceptions below; this module alone turns them, werkzeug's HTTP
errors, webargs' validation errors and anything unexpected into that format. No stack trace
ever reaches a client: unexpected exceptions are logged and answered with a generic 500.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify
from marshmallow import Schema, fields
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class NebuloError(Exception):
    """Base of the errors services raise; each maps to one HTTP status and code."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(
        self, detail: str, *, errors: dict[str, Any] | None = None, headers: dict | None = None
    ):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class BadRequest(NebuloError):
    status, code = 400, "BAD_REQUEST"


class Unauthorized(NebuloError):
    status, code = 401, "UNAUTHORIZED"


class Forbidden(NebuloError):
    status, code = 403, "FORBIDDEN"


class NotFound(NebuloError):
    status, code = 404, "NOT_FOUND"


class Conflict(NebuloError):
    status, code = 409, "CONFLICT"


class Invalid(NebuloError):
    """Validation failed; ``errors`` maps each field to its messages."""

    status, code = 422, "VALIDATION_ERROR"

    def __init__(self, detail: str = "Validation failed", *, errors: dict[str, Any] | None = None):
        super().__init__(detail, errors=errors or {})


class BadGateway(NebuloError):
    """An outside service (an LLM, Shopify, WhatsApp...) answered with an error."""

    status, code = 502, "BAD_GATEWAY"


class ServiceUnavailable(NebuloError):
    status, code = 503, "SERVICE_UNAVAILABLE"


class GatewayTimeout(NebuloError):
    status, code = 504, "GATEWAY_TIMEOUT"


HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
# Redis holds the rate-limit counters, the job queue and the event channels: when it cannot be
# reached the request cannot be served safely, and the client should retry, not report a bug.
REDIS_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class ErrorSchema(Schema):
    """The body of every error response."""

    detail = fields.String(required=True)
    code = fields.String(required=True)
    timestamp = fields.DateTime(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.Raw())


def utc_timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def error_response(
    status: int,
    detail: str,
    code: str | None = None,
    errors: dict[str, Any] | None = None,
    headers: dict | None = None,
) -> Response:
    body: dict[str, Any] = {
        "detail": detail,
        "code": code or HTTP_CODES.get(status, "ERROR"),
        "timestamp": utc_timestamp(),
    }
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten_webargs_messages(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs nests messages by location (``json``, ``query``...); clients want fields."""
    flat: dict[str, Any] = {}
    for location, by_field in messages.items():
        if isinstance(by_field, dict):
            for name, problems in by_field.items():
                key = "_schema" if name == "_schema" else name
                if location in ("query", "querystring", "headers", "files", "form", "view_args"):
                    key = name
                flat.setdefault(key, problems)
        else:
            flat[location] = by_field
    return flat


def _summary(errors: dict[str, Any]) -> str:
    names = [name for name in errors if name != "_schema"]
    if not names:
        return "Validation failed"
    return "Validation failed for: " + ", ".join(sorted(names))


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if status == 422 and messages:
        errors = _flatten_webargs_messages(messages)
        return error_response(422, _summary(errors), errors=errors)
    if status == 400 and messages:
        # webargs answers an unparseable JSON body with 400 and messages
        return error_response(400, "The request body is not valid JSON", code="INVALID_JSON")
    detail = data.get("message") or error.description or error.name
    if status == 429:
        detail = f"Rate limit exceeded: {error.description}"
    headers = dict(error.get_headers()) if status in (405, 429) else {}
    headers.pop("Content-Type", None)
    return error_response(status, detail, headers=headers)


def handle_nebulo_error(error: NebuloError) -> Response:
    return error_response(
        error.status, error.detail, code=error.code, errors=error.errors, headers=error.headers
    )


def handle_integrity_error(error: IntegrityError) -> Response:
    """A unique or foreign-key constraint caught a race the services' checks could not see
    (two identical requests at once): the transaction is rolled back and the client told."""
    from core.db import rollback_request_session

    rollback_request_session()
    log.info("integrity error answered with 409: %s", error.orig)
    return error_response(409, "The request conflicts with existing data; nothing was changed")


def handle_redis_unreachable(error: Exception) -> Response:
    """Fail closed: without its counters no request is let through unlimited."""
    from core.db import rollback_request_session

    rollback_request_session()
    log.warning("Redis is unreachable, answered 503: %s", error)
    return error_response(
        503,
        "A backing service (Redis) is unavailable; try again later",
        headers={"Retry-After": "5"},
    )


def handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled error: %s", error)
    return error_response(500, "Internal server error")


def init_app(app: Flask) -> None:
    app.register_error_handler(NebuloError, handle_nebulo_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    for error_class in REDIS_UNREACHABLE:
        app.register_error_handler(error_class, handle_redis_unreachable)
    app.register_error_handler(Exception, handle_unexpected)
