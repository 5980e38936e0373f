"""The OpenAPI document's shared parts: error responses and rate-limit headers of every route.

Routes document what is theirs (arguments, responses, public ``security: []``); what core
enforces on every route — authentication, ``<uuid:...>`` path ids, JSON bodies, rate limits —
is added to each operation here, in the one error format (``core.errors.ErrorSchema``), so the
document cannot drift from the behaviour.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin

OPERATION_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed in the current window of the tightest limit",
    "X-RateLimit-Remaining": "Requests left in the current window",
    "X-RateLimit-Reset": "When the current window ends (Unix time, seconds)",
}
RATE_LIMITED = "RATE_LIMITED"


class ErrorResponses(BasePlugin):
    """apispec plugin adding core's error responses and rate-limit headers to every operation."""

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        for name, description in RATE_LIMIT_HEADERS.items():
            spec.components.header(
                name, {"description": description, "schema": {"type": "integer"}}
            )
        spec.components.header(
            "Retry-After",
            {"description": "Seconds until the limit resets", "schema": {"type": "integer"}},
        )
        spec.components.response(
            RATE_LIMITED,
            {
                "description": "Too many requests: a rate limit is exhausted",
                "content": {"application/json": {"schema": "Error"}},
                "headers": {name: name for name in (*RATE_LIMIT_HEADERS, "Retry-After")},
            },
        )

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            if method not in OPERATION_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            declared = {str(int(code)) if str(code).isdigit() else str(code) for code in responses}
            for code, response in responses.items():
                if str(code).startswith("2") and isinstance(response, dict):
                    headers = response.setdefault("headers", {})
                    for name in RATE_LIMIT_HEADERS:
                        headers.setdefault(name, name)
            for status in _core_error_statuses(path or "", operation):
                if str(status) not in declared:
                    responses[status] = RATE_LIMITED if status == 429 else HTTPStatus(status).name


def _core_error_statuses(path: str, operation: dict) -> list[int]:
    statuses = [429]
    if operation.get("security") != []:
        statuses += [401, 403]
    if "{" in path:
        statuses += [400, 404]
    if "requestBody" in operation:
        statuses += [400, 413, 415, 422]
    elif any(parameter.get("in") == "query" for parameter in operation.get("parameters", [])):
        statuses += [422]
    return sorted(set(statuses))
