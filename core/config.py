"""Settings, read once from environment variables into one immutable object.

Core settings are fields of :class:`Settings`. Plugins declare their own settings with the
``register_settings`` hook; their values are parsed from the same environment and kept in
``Settings.plugin``. Nothing else in Nebulo reads ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
import sysconfig
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENVIRONMENTS = ("development", "production", "testing")
DEV_SECRET_FILE = "secret_key"
SQLITE_FILE = "nebulo.db"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable Nebulo; the message says what to set."""


@dataclass(frozen=True)
class Setting:
    """A plugin's setting: an environment variable, how to parse it and its default."""

    name: str
    default: Any
    description: str
    parse: Callable[[str], Any] = str
    # Production refuses to start without it, instead of failing on every request that needs it.
    required_in_production: bool = False


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{value!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def parse_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    # Empty until load_settings fills it: the SQLite file in the instance folder.
    database_url: str = ""
    instance_path: str = ""
    port: int = 8000
    redis_url: str | None = None
    redis_namespace: str = "nebulo"
    secret_key: str = ""
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    rate_limits_enabled: bool = True
    rate_limit_default: str = "100/minute"
    rate_limit_auth: str = "5/minute"
    rate_limit_ai: str = "60/minute"
    rate_limit_login_account_address: str = "5/minute"
    rate_limit_login_address: str = "30/hour"
    rate_limit_login_account: str = "50/hour"
    plugins: tuple[str, ...] = ()
    disable_plugins: tuple[str, ...] = ()
    trace_plugins: bool = False
    max_body_bytes: int = 1024 * 1024
    trusted_proxies: int = 0
    job_workers: int = 2
    job_process: bool = True
    job_lease_seconds: int = 300
    job_timeout_seconds: int = 3600
    webhook_timeout_seconds: float = 10.0
    allow_private_urls: bool | None = None
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    log_level: str = "INFO"
    plugin: Mapping[str, Any] = field(default_factory=dict)
    # The variables these settings were read from; plugin settings are parsed from them too.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)

    def get(self, name: str) -> Any:
        """The parsed value of a plugin setting declared through ``register_settings``."""
        try:
            return self.plugin[name]
        except KeyError:
            raise KeyError(f"setting {name} was not declared by any loaded plugin") from None

    def with_plugin_settings(
        self, declared: list[Setting], environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Parse the plugin settings once, from the same variables as the core settings, with a
        clear error per bad value."""
        environ = self.environ if environ is None else environ
        values = dict(self.plugin)
        for setting in declared:
            if setting.name in values:
                continue
            raw = environ.get(setting.name)
            if not raw and setting.required_in_production and self.is_production:
                raise ConfigError(
                    f"{setting.name} is not set; production needs it: {setting.description}"
                )
            if raw is None:
                values[setting.name] = setting.default
                continue
            try:
                values[setting.name] = setting.parse(raw)
            except ValueError as error:
                raise ConfigError(f"{setting.name}={raw!r} is invalid: {error}") from None
        return replace(self, plugin=values)


def setting(name: str) -> Any:
    """The current app's value of a plugin setting declared through ``register_settings``, for
    code that runs in an app context (routes, services, jobs) and holds no ``Settings``."""
    return current_app.extensions["nebulo"].settings.get(name)


# Environment variable -> (field, parser). README.md lists each with its meaning.
ENVIRONMENT_VARIABLES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "NEBULO_ENV": ("env", str),
    "DATABASE_URL": ("database_url", str),
    "NEBULO_INSTANCE_PATH": ("instance_path", str),
    "PORT": ("port", int),
    "REDIS_URL": ("redis_url", str),
    "NEBULO_REDIS_NAMESPACE": ("redis_namespace", str),
    "NEBULO_SECRET_KEY": ("secret_key", str),
    "NEBULO_ACCESS_TOKEN_MINUTES": ("access_token_minutes", int),
    "NEBULO_REFRESH_TOKEN_DAYS": ("refresh_token_days", int),
    "NEBULO_RATE_LIMITS_ENABLED": ("rate_limits_enabled", parse_bool),
    "NEBULO_RATE_LIMIT_DEFAULT": ("rate_limit_default", str),
    "NEBULO_RATE_LIMIT_AUTH": ("rate_limit_auth", str),
    "NEBULO_RATE_LIMIT_AI": ("rate_limit_ai", str),
    "NEBULO_RATE_LIMIT_LOGIN_ACCOUNT_ADDRESS": ("rate_limit_login_account_address", str),
    "NEBULO_RATE_LIMIT_LOGIN_ADDRESS": ("rate_limit_login_address", str),
    "NEBULO_RATE_LIMIT_LOGIN_ACCOUNT": ("rate_limit_login_account", str),
    "NEBULO_PLUGINS": ("plugins", parse_list),
    "NEBULO_DISABLE_PLUGINS": ("disable_plugins", parse_list),
    "NEBULO_TRACE_PLUGINS": ("trace_plugins", parse_bool),
    "NEBULO_MAX_BODY_BYTES": ("max_body_bytes", int),
    "NEBULO_TRUSTED_PROXIES": ("trusted_proxies", int),
    "NEBULO_JOB_WORKERS": ("job_workers", int),
    "NEBULO_JOB_PROCESS": ("job_process", parse_bool),
    "NEBULO_JOB_LEASE_SECONDS": ("job_lease_seconds", int),
    "NEBULO_JOB_TIMEOUT_SECONDS": ("job_timeout_seconds", int),
    "NEBULO_WEBHOOK_TIMEOUT_SECONDS": ("webhook_timeout_seconds", float),
    "NEBULO_ALLOW_PRIVATE_URLS": ("allow_private_urls", parse_bool),
    "NEBULO_ARGON2_TIME_COST": ("argon2_time_cost", int),
    "NEBULO_ARGON2_MEMORY_KIB": ("argon2_memory_kib", int),
    "NEBULO_LOG_LEVEL": ("log_level", str),
}

# A zero lifetime would make flask-jwt-extended issue tokens that never expire.
POSITIVE_SETTINGS = {
    "PORT": "port",
    "NEBULO_ACCESS_TOKEN_MINUTES": "access_token_minutes",
    "NEBULO_REFRESH_TOKEN_DAYS": "refresh_token_days",
    "NEBULO_MAX_BODY_BYTES": "max_body_bytes",
    "NEBULO_JOB_LEASE_SECONDS": "job_lease_seconds",
    "NEBULO_JOB_TIMEOUT_SECONDS": "job_timeout_seconds",
    "NEBULO_WEBHOOK_TIMEOUT_SECONDS": "webhook_timeout_seconds",
    "NEBULO_ARGON2_TIME_COST": "argon2_time_cost",
    "NEBULO_ARGON2_MEMORY_KIB": "argon2_memory_kib",
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings from ``environ`` (default ``os.environ``), then apply ``overrides``.

    Production refuses to start without ``NEBULO_SECRET_KEY``; development keeps a random key
    in the instance folder so that tokens survive a restart.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for variable, (name, parse) in ENVIRONMENT_VARIABLES.items():
        raw = environ.get(variable)
        if raw is None or raw == "":
            continue
        try:
            values[name] = parse(raw)
        except ValueError as error:
            raise ConfigError(f"{variable}={raw!r} is invalid: {error}") from None
    values.update(overrides)
    settings = Settings(**values, environ=dict(environ))
    if settings.env not in ENVIRONMENTS:
        raise ConfigError(
            f"NEBULO_ENV must be one of {', '.join(ENVIRONMENTS)}, not {settings.env!r}"
        )
    for variable, name in POSITIVE_SETTINGS.items():
        if getattr(settings, name) <= 0:
            raise ConfigError(
                f"{variable} must be a positive number, not {getattr(settings, name)!r}"
            )
    if settings.trusted_proxies < 0:
        raise ConfigError(
            "NEBULO_TRUSTED_PROXIES must be the number of proxies in front of Nebulo (0 or more), "
            f"not {settings.trusted_proxies!r}"
        )
    if settings.log_level.upper() not in LOG_LEVELS:
        raise ConfigError(
            f"NEBULO_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {settings.log_level!r}"
        )
    settings = replace(settings, log_level=settings.log_level.upper())
    settings = _with_instance_paths(settings)
    if settings.allow_private_urls is None:
        # A server must not be steered into its own network by a URL a user gives (a webhook,
        # a shop, a provider's link). NEBULO_ENV defaults to development, so only the test
        # suite, whose fake providers listen on 127.0.0.1, allows them without asking.
        settings = replace(settings, allow_private_urls=settings.env == "testing")
    if not settings.secret_key:
        if settings.is_production:
            raise ConfigError(
                "NEBULO_SECRET_KEY is not set. In production set it to a long random value, e.g. "
                'NEBULO_SECRET_KEY="$(python -c '
                "'import secrets; print(secrets.token_urlsafe(48))')\""
            )
        settings = replace(settings, secret_key=_development_secret(Path(settings.instance_path)))
    elif settings.is_production and len(settings.secret_key) < 32:
        raise ConfigError("NEBULO_SECRET_KEY must be at least 32 characters in production")
    return settings


def default_instance_path() -> Path:
    """Flask's rule, so that every command finds the same folder from any directory: the
    checkout's ``instance/`` when running from source (``make run``, ``pip install -e``), and
    ``<prefix>/var/nebulo-instance`` (e.g. inside the virtual environment) once installed."""
    package = Path(__file__).resolve().parent
    installed_roots = {Path(sysconfig.get_path(key)).resolve() for key in ("purelib", "platlib")}
    if any(root in package.parents for root in installed_roots):
        return Path(sysconfig.get_path("data")) / "var" / "nebulo-instance"
    return package.parent / "instance"


def _with_instance_paths(settings: Settings) -> Settings:
    """Resolve the instance folder and the default SQLite file; refuse paths that would mean
    another file in each working directory."""
    instance = Path(settings.instance_path).expanduser() if settings.instance_path else None
    if instance is not None and not instance.is_absolute():
        raise ConfigError(
            f"NEBULO_INSTANCE_PATH must be an absolute path, not {settings.instance_path!r}: "
            "a relative one would be another folder in each working directory"
        )
    instance = instance or default_instance_path()
    database_url = settings.database_url or f"sqlite:///{instance / SQLITE_FILE}"
    sqlite_file = sqlite_path(database_url)
    if sqlite_file is not None and not sqlite_file.is_absolute():
        raise ConfigError(
            f"DATABASE_URL={database_url!r} is a relative SQLite path, which would be another "
            f"database in each working directory: give an absolute one (sqlite:////path/to/"
            f"nebulo.db) or leave DATABASE_URL unset to use {instance / SQLITE_FILE}"
        )
    return replace(settings, instance_path=str(instance), database_url=database_url)


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL={database_url!r} is not a database URL") from None
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _development_secret(instance: Path) -> str:
    path = instance / DEV_SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
