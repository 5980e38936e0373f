"""The OpenAPI document's shared parts: error responses and rate-limit headers of every route,
and the pinned Swagger UI and ReDoc files that ``/docs`` and ``/redoc`` load from Nebulo itself.

Routes document what is theirs (arguments, responses, public ``security: []``); what core
enforces on every route — authentication, ``<uuid:...>`` path ids, JSON bodies, rate limits —
is added to each operation here, in the one error format (``core.errors.ErrorSchema``), so the
document cannot drift from the behaviour.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin
from flask import Blueprint
from flask_smorest import Api

log = logging.getLogger(__name__)

OPERATION_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed in the current window of the tightest limit",
    "X-RateLimit-Remaining": "Requests left in the current window",
    "X-RateLimit-Reset": "When the current window ends (Unix time, seconds)",
}
RATE_LIMITED = "RATE_LIMITED"

# Vendored from the npm registry; core/static/vendor/README.md says how and under which licenses.
SWAGGER_UI_DIST = "swagger-ui-dist-5.35.0"
REDOC = "redoc-2.5.4"
DOCS_ASSETS_PATH = "/docs/assets"
"""Under ``/docs``, so that the rate limits leave the assets alone as they do the pages."""
DOCS_ASSETS_MAX_AGE = timedelta(days=365)


class DocsAssets(Blueprint):
    """The documentation pages' scripts and styles, public and cached for a year: the version
    is part of every URL, so a file never changes under its URL."""

    def get_send_file_max_age(self, filename: str | None) -> int:
        return int(DOCS_ASSETS_MAX_AGE.total_seconds())


docs_assets = DocsAssets(
    "docs_assets", __name__, static_folder="static/vendor", static_url_path=DOCS_ASSETS_PATH
)

DOCS_PAGES_CONFIG = {
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": f"{DOCS_ASSETS_PATH}/{SWAGGER_UI_DIST}/",
    # Swagger UI would otherwise send the document to validator.swagger.io for a badge.
    "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
    "OPENAPI_REDOC_PATH": "redoc",
    "OPENAPI_REDOC_URL": f"{DOCS_ASSETS_PATH}/{REDOC}/redoc.standalone.js",
}
"""flask-smorest's settings of ``/docs`` and ``/redoc``: only Nebulo's own URLs, no CDN."""


class DeferredDocApi(Api):
    """flask-smorest's Api that mounts a blueprint at once but documents it only when the
    OpenAPI document is first read (``/openapi.json``, ``/docs``, the first query check).

    Building the document takes about a third of a second, which every ``nebulo`` command
    paid at start-up. Blueprints are documented in the order they were registered, so the
    document is the same as if each had been documented when it was mounted.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._undocumented: list[tuple[Any, str, list | None]] = []
        self._documenting = threading.RLock()
        self._documenting_now = False
        super().__init__(*args, **kwargs)

    @property
    def spec(self) -> APISpec | None:
        if self._undocumented:
            with self._documenting:
                if not self._documenting_now:
                    self._documenting_now = True
                    try:
                        self._document_pending()
                    finally:
                        self._documenting_now = False
        return self._spec

    @spec.setter
    def spec(self, value: APISpec | None) -> None:
        self._spec = value

    def register_blueprint(self, blp, *, parameters=None, **options) -> None:
        """flask-smorest's (0.47) ``Api.register_blueprint`` with its documentation step queued."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def _document_pending(self) -> None:
        # Removed once documented, so that another thread keeps waiting for the whole document.
        while self._undocumented:
            blueprint, name, parameters = self._undocumented[0]
            try:
                blueprint.register_views_in_doc(
                    self, self._app, self._spec, name=name, parameters=parameters
                )
                if name in self._app.blueprints:  # one that declined to mount gets no tag
                    self._spec.tag({"name": name, "description": blueprint.description})
            except Exception:  # noqa: BLE001
                log.exception("blueprint %s could not be documented", name)
            finally:
                self._undocumented.pop(0)


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
    # 422 everywhere: an unknown query parameter is refused by every operation (core.http).
    statuses = [422, 429]
    if operation.get("security") != []:
        statuses += [401, 403]
    if "{" in path:
        statuses += [400, 404]
    if "requestBody" in operation:
        statuses += [400, 413, 415]
    return sorted(set(statuses))
