"""Rate limits with flask-limiter: defaults for every route, named limits routes declare.

Routes mark themselves with :func:`rate_limit`; ``create_app`` builds one Limiter per app and
applies the marks, so several apps (tests, workers) never share counters by accident. With
``REDIS_URL`` set the counters live in Redis and hold across gunicorn workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter

from core.config import Settings

CORE_LIMITS = {
    "default": "rate_limit_default",
    "auth": "rate_limit_auth",
    "ai": "rate_limit_ai",
    "login_identifier": "rate_limit_login_identifier",
}
UNLIMITED_PATHS = ("/docs", "/redoc", "/openapi.json", "/healthz")


@dataclass(frozen=True)
class RateLimitMark:
    name: str
    key: Callable[[], str] | None
    deduct_when: Callable[[Response], bool] | None


def rate_limit(
    name: str,
    *,
    key: Callable[[], str] | None = None,
    deduct_when: Callable[[Response], bool] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Limit a view by a named limit: ``auth``, ``ai``, ``default`` or a plugin setting name.

    The value comes from the settings (``NEBULO_RATE_LIMIT_AUTH``, a plugin's registered
    setting such as ``NEBULO_RATE_LIMIT_CREATE_ORDER``, ...). ``key`` replaces the default key
    (user when authenticated, else IP); ``deduct_when`` counts only some responses.
    """

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        marks = list(getattr(view, "_nebulo_rate_limits", ()))
        marks.append(RateLimitMark(name, key, deduct_when))
        view._nebulo_rate_limits = marks  # type: ignore[attr-defined]
        return view

    return mark


def limit_value(settings: Settings, name: str) -> str:
    if name in CORE_LIMITS:
        return getattr(settings, CORE_LIMITS[name])
    return str(settings.get(name))


def client_key() -> str:
    """The authenticated principal when there is one, else the client's address."""
    from core.context import principal_or_none

    principal = principal_or_none()
    if principal is not None:
        return principal.rate_limit_key
    return "ip:" + (request.remote_addr or "unknown")


def build_limiter(app: Flask, settings: Settings) -> Limiter:
    return Limiter(
        key_func=client_key,
        app=app,
        default_limits=[settings.rate_limit_default],
        default_limits_exempt_when=lambda: request.path.startswith(UNLIMITED_PATHS),
        headers_enabled=True,
        storage_uri=settings.redis_url or "memory://",
        key_prefix=f"{settings.redis_namespace}:limits",
        strategy="fixed-window",
        enabled=settings.rate_limits_enabled,
    )


def apply_route_limits(app: Flask, limiter: Limiter, settings: Settings) -> None:
    """Wrap every view that carries :func:`rate_limit` marks with this app's limiter."""
    for endpoint, view in list(app.view_functions.items()):
        marked: list[tuple[RateLimitMark, list[str] | None]] = [
            (mark, None) for mark in getattr(view, "_nebulo_rate_limits", ())
        ]
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            for method in getattr(view_class, "methods", None) or ():
                handler = getattr(view_class, method.lower(), None)
                for mark in getattr(handler, "_nebulo_rate_limits", ()):
                    marked.append((mark, [method]))
        wrapped = view
        for mark, methods in marked:
            wrapped = limiter.limit(
                limit_value(settings, mark.name),
                key_func=mark.key,
                deduct_when=mark.deduct_when,
                methods=methods,
            )(wrapped)
        if wrapped is not view:
            app.view_functions[endpoint] = wrapped
