"""Rate limits with flask-limiter: defaults for every route, named limits routes declare.

Routes mark themselves with :func:`rate_limit`; ``create_app`` builds one Limiter per app and
applies the marks, so several apps (tests, workers) never share counters by accident. With
``REDIS_URL`` set the counters live in Redis under ``<NEBULO_REDIS_NAMESPACE>:limits`` and hold
across gunicorn workers and machines.

Every limit counts per route: the default and plugin limits per user (or API key) when the
caller is authenticated and per client address otherwise; the ``auth`` limit always per
address, so a token does not buy more login attempts; the failed-login limits per account
and address as :mod:`core.auth.throttle` explains.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter._manager import LimitManager
from limits import parse_many
from limits.storage import MemoryStorage

from core.config import ConfigError, Settings

# Named limit -> (Settings field, environment variable).
CORE_LIMITS = {
    "default": ("rate_limit_default", "NEBULO_RATE_LIMIT_DEFAULT"),
    "auth": ("rate_limit_auth", "NEBULO_RATE_LIMIT_AUTH"),
    "ai": ("rate_limit_ai", "NEBULO_RATE_LIMIT_AI"),
    # Failed logins (core/auth/throttle.py).
    "login_account_address": (
        "rate_limit_login_account_address",
        "NEBULO_RATE_LIMIT_LOGIN_ACCOUNT_ADDRESS",
    ),
    "login_address": ("rate_limit_login_address", "NEBULO_RATE_LIMIT_LOGIN_ADDRESS"),
    "login_account": ("rate_limit_login_account", "NEBULO_RATE_LIMIT_LOGIN_ACCOUNT"),
}
# One budget across every route that carries them (seed 001: "Authentication: 5
# requests/minute", "AI Endpoints: 60 requests/minute"); other limits count per route.
SHARED_LIMITS = ("auth", "ai")
UNLIMITED_PATHS = ("/docs", "/redoc", "/openapi.json", "/healthz")


def _unlimited() -> bool:
    """The docs, the health check and any blueprint's static files (a page loads dozens of
    them at once: counting them would spend a client's allowance on scripts)."""
    endpoint = request.endpoint or ""
    return request.path.startswith(UNLIMITED_PATHS) or endpoint.rsplit(".", 1)[-1] == "static"


@dataclass(frozen=True)
class RateLimitMark:
    name: str
    key: Callable[[], str] | None
    deduct_when: Callable[[Response], bool] | None


class SweepingMemoryStorage(MemoryStorage):
    """limits' in-process storage without its expiry thread, for the embedded stack.

    ``MemoryStorage`` starts a new 10 ms timer thread whenever the last one has ended — under
    load nearly once per request. Expired counters are already ignored when read; this storage
    sweeps them out at most once a second in the calling thread instead.
    """

    STORAGE_SCHEME = ["nebulo-memory"]
    SWEEP_SECONDS = 1.0
    _next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


class ResolvedLimitsCache(LimitManager):
    """flask-limiter's limit manager, resolving each endpoint's limits once instead of per request.

    Upstream re-parses every limit string and walks exemptions and blueprints on every request,
    about a quarter of a small request's cost. Nebulo's limits are plain strings fixed at
    start-up, so what a route resolves to depends only on what is registered: it is kept per
    (app, endpoint, view, HTTP method, ...) and forgotten whenever a registration changes. The
    per-request parts (``exempt_when``, ``deduct_when``, keys, counting) still run per request.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolved: dict[tuple, Any] = {}

    def _forget(self) -> None:
        self._resolved.clear()

    def set_application_limits(self, limits: Any) -> None:
        super().set_application_limits(limits)
        self._forget()

    def set_default_limits(self, limits: Any) -> None:
        super().set_default_limits(limits)
        self._forget()

    def add_decorated_limit(self, route: str, limit: Any, override: bool = False) -> None:
        super().add_decorated_limit(route, limit, override)
        self._forget()

    def add_blueprint_limit(self, blueprint: str, limit: Any) -> None:
        super().add_blueprint_limit(blueprint, limit)
        self._forget()

    def add_route_exemption(self, route: str, scope: Any) -> None:
        super().add_route_exemption(route, scope)
        self._forget()

    def add_blueprint_exemption(self, blueprint: str, scope: Any) -> None:
        super().add_blueprint_exemption(blueprint, scope)
        self._forget()

    def add_endpoint_hint(self, endpoint: str, callable: str) -> None:  # noqa: A002 - upstream name
        if callable not in self._endpoint_hints.get(endpoint, ()):
            super().add_endpoint_hint(endpoint, callable)
            self._forget()

    def resolve_limits(
        self,
        app: Flask,
        endpoint: str | None = None,
        blueprint: str | None = None,
        callable_name: str | None = None,
        in_middleware: bool = False,
        marked_for_limiting: bool = False,
    ) -> tuple[list, ...]:
        # Whether the defaults apply depends on the method too: a POST-only limit leaves GET
        # with the defaults.
        key = (
            "limits", app, endpoint, app.view_functions.get(endpoint or ""), blueprint,
            callable_name, in_middleware, marked_for_limiting, request.method,
        )  # fmt: skip
        resolved = self._resolved.get(key)
        if resolved is None:
            resolved = tuple(
                tuple(limits)
                for limits in super().resolve_limits(
                    app, endpoint, blueprint, callable_name, in_middleware, marked_for_limiting
                )
            )
            self._resolved[key] = resolved
        return tuple(list(limits) for limits in resolved)

    def exemption_scope(self, app: Flask, endpoint: str | None, blueprint: str | None) -> Any:
        key = ("exemption", app, endpoint, app.view_functions.get(endpoint or ""), blueprint)
        scope = self._resolved.get(key)
        if scope is None:
            scope = self._resolved[key] = super().exemption_scope(app, endpoint, blueprint)
        return scope


class NebuloLimiter(Limiter):
    """A Limiter whose limit manager caches resolved limits (see :class:`ResolvedLimitsCache`)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        manager = self.limit_manager
        self.limit_manager = ResolvedLimitsCache(
            application_limits=manager._application_limits,
            default_limits=manager._default_limits,
            decorated_limits=manager._decorated_limits,
            blueprint_limits=manager._blueprint_limits,
            route_exemptions=manager._route_exemptions,
            blueprint_exemptions=manager._blueprint_exemptions,
        )


def rate_limit(
    name: str,
    *,
    key: Callable[[], str] | None = None,
    deduct_when: Callable[[Response], bool] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Limit a view by a named limit: ``auth``, ``ai``, ``default`` or a plugin setting name.

    The value comes from the settings (``NEBULO_RATE_LIMIT_AUTH``, a plugin's registered
    setting such as ``NEBULO_RATE_LIMIT_CREATE_ORDER``, ...). Put it on a MethodView method to
    limit that method only. ``key`` replaces the default key (user when authenticated, else IP);
    ``deduct_when`` counts only some responses.
    """

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        marks = list(getattr(view, "_nebulo_rate_limits", ()))
        marks.append(RateLimitMark(name, key, deduct_when))
        view._nebulo_rate_limits = marks  # type: ignore[attr-defined]
        return view

    return mark


def limit_value(settings: Settings, name: str) -> str:
    """The configured value of a named limit, checked at start-up so a typo fails loudly."""
    if name in CORE_LIMITS:
        field_name, variable = CORE_LIMITS[name]
        value = getattr(settings, field_name)
    else:
        variable = name
        try:
            value = settings.get(name)
        except KeyError:
            raise ConfigError(
                f"rate limit {name!r} is neither a core limit ({', '.join(CORE_LIMITS)}) nor a "
                "setting registered by a loaded plugin"
            ) from None
    try:
        if not parse_many(str(value)):
            raise ValueError(value)
    except ValueError:
        raise ConfigError(
            f"{variable}={value!r} is not a rate limit; use e.g. '100/minute' or '5 per second'"
        ) from None
    return str(value)


def client_address() -> str:
    return "ip:" + (request.remote_addr or "unknown")


def client_key() -> str:
    """The authenticated principal when there is one, else the client's address.

    An invalid or expired token counts against the address it came from; a logged-out one still
    counts against its user (checking revocation is the route's business, not the counter's).
    """
    from core.context import claimed_principal_or_none

    principal = claimed_principal_or_none()
    if principal is not None:
        return principal.rate_limit_key
    return client_address()


NAMED_LIMIT_KEYS: dict[str, Callable[[], str]] = {"auth": client_address}


def _limit_headers(limiter: Limiter) -> Callable[[Response], Response]:
    """``X-RateLimit-*`` of the tightest limit of the request, ``Retry-After`` on 429 only.

    flask-limiter reports the limit with the smallest window, which on a route with several
    limits (login: per address, per account and address, per account) can have room left.
    """

    def add_headers(response: Response) -> Response:
        limits = limiter.current_limits
        if not limits:
            return response
        tightest = min(limits, key=lambda limit: (not limit.breached, limit.remaining))
        reset_at = tightest.reset_at
        response.headers["X-RateLimit-Limit"] = str(tightest.limit.amount)
        response.headers["X-RateLimit-Remaining"] = str(max(tightest.remaining, 0))
        response.headers["X-RateLimit-Reset"] = str(reset_at)
        if response.status_code == 429:
            response.headers["Retry-After"] = str(max(int(reset_at - time.time()), 1))
        return response

    return add_headers


def build_limiter(app: Flask, settings: Settings) -> Limiter:
    storage_options = {}
    if settings.redis_url:
        storage_options["key_prefix"] = f"{settings.redis_namespace}:limits"
    limiter = NebuloLimiter(
        key_func=client_key,
        default_limits=[limit_value(settings, "default")],
        default_limits_exempt_when=_unlimited,
        headers_enabled=False,
        storage_uri=settings.redis_url or "nebulo-memory://",
        storage_options=storage_options,
        strategy="fixed-window",
        enabled=settings.rate_limits_enabled,
    )
    # after_request hooks run in reverse order: this one runs after the limiter has counted
    # the responses of conditional limits (``deduct_when``).
    app.after_request(_limit_headers(limiter))
    limiter.init_app(app)
    return limiter


def apply_route_limits(app: Flask, limiter: Limiter, settings: Settings) -> None:
    """Wrap every view that carries :func:`rate_limit` marks with this app's limiter.

    Marks on a MethodView's methods limit only that HTTP method; the other methods keep the
    default limit. ``auth`` and ``ai`` are shared: one counter across all their routes.
    """
    for endpoint, view in list(app.view_functions.items()):
        marked: list[tuple[RateLimitMark, list[str] | None]] = [
            (mark, None) for mark in getattr(view, "_nebulo_rate_limits", ())
        ]
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            for method in sorted(getattr(view_class, "methods", None) or ()):
                handler = getattr(view_class, method.lower(), None)
                for mark in getattr(handler, "_nebulo_rate_limits", ()):
                    marked.append((mark, [method]))
        wrapped = view
        for mark, methods in marked:
            options = {
                "key_func": mark.key or NAMED_LIMIT_KEYS.get(mark.name),
                "deduct_when": mark.deduct_when,
                "methods": methods,
            }
            value = limit_value(settings, mark.name)
            if mark.name in SHARED_LIMITS:
                decorator = limiter.shared_limit(value, scope=mark.name, **options)
            else:
                decorator = limiter.limit(value, **options)
            wrapped = decorator(wrapped)
        if wrapped is not view:
            app.view_functions[endpoint] = wrapped
