"""The application factory: settings, storage, plugins, auth, limits, jobs, events, OpenAPI."""

from __future__ import annotations

import logging
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from argon2 import PasswordHasher
from flask import Flask
from flask_jwt_extended import JWTManager
from flask_sock import Sock
from werkzeug.middleware.proxy_fix import ProxyFix

from core import errors, events, ws
from core.auth.routes import blp as auth_blp
from core.config import Settings, load_settings
from core.db import Database, close_request_session
from core.health import blp as health_blp
from core.http import UUIDConverter, check_content_type, check_query_parameters
from core.jobs.dispatchers import build_dispatcher
from core.jobs_routes import blp as jobs_blp
from core.json_provider import OrjsonProvider
from core.limits import apply_route_limits, build_limiter
from core.metrics.routes import blp as metrics_blp
from core.openapi import DOCS_PAGES_CONFIG, DeferredDocApi, ErrorResponses, docs_assets
from core.pagination import add_pagination_header
from core.plugins import JobSpec, Permission, PluginManager, Registry, job_name
from core.plugins_routes import blp as plugins_blp
from core.projects.routes import blp as projects_blp
from core.schemas import serialize_datetimes_with_z
from core.webhooks.routes import blp as webhooks_blp

log = logging.getLogger(__name__)

CORE_PERMISSIONS = (
    ("view_project", "See the project, its members and its jobs", "viewer"),
    ("manage_project", "Change the project's name, timezone and settings", "admin"),
    ("delete_project", "Delete the project and all its data", "owner"),
    ("manage_members", "Add and remove members and change their roles", "admin"),
    ("manage_api_keys", "Create and revoke API keys", "admin"),
    ("manage_webhooks", "Manage outbound webhooks", "admin"),
)

CORE_BLUEPRINTS = (auth_blp, projects_blp, plugins_blp, jobs_blp, webhooks_blp, metrics_blp)
# Names flask-smorest and core use; a plugin blueprint with one of them fails at load.
RESERVED_BLUEPRINT_NAMES = ("api-docs", "static", docs_assets.name, health_blp.name)

# Core job functions, registered like plugins' jobs: ("module:function", retries, backoff).
CORE_JOBS: tuple[tuple[str, int, tuple[float, ...]], ...] = (
    ("core.webhooks.services:deliver_webhook", 4, (10.0, 60.0, 300.0, 1800.0)),
)


class NebuloApi(DeferredDocApi):
    """flask-smorest's Api with Nebulo's one error format, documenting blueprints lazily."""

    ERROR_SCHEMA = errors.ErrorSchema

    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)


@dataclass
class Nebulo:
    """Everything one app owns; ``app.extensions["nebulo"]``."""

    settings: Settings
    db: Database
    plugins: PluginManager
    api: NebuloApi
    sock: Sock
    password_hasher: PasswordHasher
    limiter: Any = None
    jobs: Any = None
    services: dict[str, Any] = field(default_factory=dict)
    _role_permissions: dict[str, frozenset[str]] = field(default_factory=dict)

    @cached_property
    def dummy_password_hash(self) -> str:
        """Verified when a login names no account, so that it takes as long as a real one;
        hashed on first use rather than at start-up, which every ``nebulo`` command pays."""
        return self.password_hasher.hash("not a real password")

    @property
    def registry(self) -> Registry:
        return self.plugins.registry

    def permissions_for_role(self, role: str) -> frozenset[str]:
        if role not in self._role_permissions:
            self._role_permissions[role] = self.registry.permissions_for_role(role)
        return self._role_permissions[role]


def create_app(
    settings: Settings | None = None, extra_plugins: Iterable[tuple[str, Any]] = ()
) -> Flask:
    """Build a Nebulo app. ``extra_plugins`` adds (name, module) plugins beside the entry points."""
    settings = settings or load_settings()
    logging.basicConfig(level=settings.log_level)
    app = Flask("nebulo", instance_relative_config=False)
    app.json = OrjsonProvider(app)
    if settings.trusted_proxies:
        # Only the proxies' own headers are believed: a client's X-Forwarded-For is ignored,
        # or anyone could pick the address their rate limits count against.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.url_map.converters["uuid"] = UUIDConverter
    app.url_map.strict_slashes = False
    app.config.update(
        SECRET_KEY=settings.secret_key,
        JWT_SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="Nebulo",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        **DOCS_PAGES_CONFIG,
        # WebSocket pings keep idle feeds open through proxies and drop clients that vanished
        SOCK_SERVER_OPTIONS={"ping_interval": 25},
    )

    serialize_datetimes_with_z()
    plugins = PluginManager(trace=settings.trace_plugins)
    _register_core(plugins.registry)
    plugins.load(
        plugins.discover(extra_plugins), enabled=settings.plugins, disabled=settings.disable_plugins
    )
    settings = settings.with_plugin_settings(list(plugins.registry.settings.values()))

    api = NebuloApi(
        spec_kwargs={
            "extra_plugins": [ErrorResponses()],
            "info": {"description": "Store operations through plugins and an AI assistant."},
            "security": [{"bearerAuth": []}, {"apiKey": []}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                }
            },
        }
    )
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib
    )
    state = Nebulo(
        settings=settings,
        db=Database(settings.database_url),
        plugins=plugins,
        api=api,
        sock=Sock(),
        password_hasher=hasher,
    )
    app.extensions["nebulo"] = state
    JWTManager(app)
    api.init_app(app)
    api.register_converter(UUIDConverter, lambda _converter: {"type": "string", "format": "uuid"})
    state.sock.init_app(app)
    errors.init_app(app)
    app.before_request(check_content_type(app))
    app.before_request(check_query_parameters(app, api))
    app.after_request(add_pagination_header)
    app.teardown_appcontext(close_request_session)

    _register_blueprints(app, api, plugins.registry)
    state.limiter = build_limiter(app, settings)
    # Probes must answer whatever the rate-limit storage's state: that is what they report on.
    state.limiter.exempt(health_blp)
    state.jobs = build_dispatcher(app)
    apply_route_limits(app, state.limiter, settings)

    # The app's own command group, for code holding the app (``app.test_cli_runner()``);
    # ``nebulo`` collects the same commands without building the app (core.cli).
    plugins.call_each("register_commands", cli=app.cli)
    return app


def _register_core(registry: Registry) -> None:
    """Core's own permissions, jobs and blueprint names, owned by "core" so that a plugin
    registering the same name fails with both owners named."""
    for name, description, min_role in CORE_PERMISSIONS:
        registry.permissions[name] = Permission(name, description, min_role, "core")
        registry.owners[("permission", name)] = "core"
    for path, retries, backoff in CORE_JOBS:
        function = pkgutil.resolve_name(path)
        name = job_name(function)
        registry.jobs[name] = JobSpec(name, function, retries, backoff, "core")
        registry.owners[("job", name)] = "core"
    for name in (*(blueprint.name for blueprint in CORE_BLUEPRINTS), *RESERVED_BLUEPRINT_NAMES):
        registry.owners[("blueprint", name)] = "core"


def _register_blueprints(app: Flask, api: NebuloApi, registry: Registry) -> None:
    app.register_blueprint(docs_assets)
    api.register_blueprint(health_blp)
    for blueprint in CORE_BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix="/api/v1" + blueprint.url_prefix)
    events.init_app(app)
    ws.init_app(app)
    for plugin, blueprint in registry.blueprints:
        try:
            api.register_blueprint(blueprint, url_prefix="/api/v1" + (blueprint.url_prefix or ""))
        except Exception:  # noqa: BLE001
            log.exception("plugin %s: blueprint %s could not be mounted", plugin, blueprint.name)
