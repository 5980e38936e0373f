"""Liveness (``/healthz``) and readiness (``/readyz``) for load balancers and orchestrators.

``/healthz`` only says the process answers: restarting it would not help when a backing
service is down. ``/readyz`` checks what requests need — the database at the code's migration
heads, and Redis when it is configured — so that a balancer stops sending traffic to an
instance that cannot serve it. ``nebulo doctor`` runs the same checks and more, for people.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis
import rq
from flask import Flask, current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import text

from core.config import sqlite_path
from core.errors import ErrorSchema, ServiceUnavailable

if TYPE_CHECKING:
    from core.app import Nebulo

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 2.0

blp = Blueprint("health", __name__, description="Liveness and readiness probes")


class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ok"})


class ReadinessSchema(Schema):
    status = fields.String(metadata={"example": "ok"})
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"example": {"database": "ok", "migrations": "ok", "redis": "ok"}},
    )


def _ping_database(state: Nebulo) -> None:
    with state.db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _ping_redis(url: str) -> None:
    with redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    ) as client:
        client.ping()


def _database_problem(state: Nebulo) -> str | None:
    try:
        _ping_database(state)
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"
        log.warning("readiness: the database is unreachable: %s", error)
        return "unreachable"
    return None


def _migrations_problem(app: Flask) -> str | None:
    """A database behind the code's heads lacks tables or columns the routes query."""
    from core import migrate  # alembic: imported when asked, not by every command

    try:
        state = migrate.migration_state(app)
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"
        log.warning("readiness: the migration state cannot be read: %s", error)
        return "unknown"
    if not state.at_head:
        log.warning("readiness: migrations not at head; pending %s", ", ".join(state.pending))
        return "not at head"
    return None


def _redis_problem(url: str) -> str | None:
    try:
        _ping_redis(url)
    except redis.RedisError as error:
        log.warning("readiness: Redis is unreachable: %s", error)
        return "unreachable"
    return None


def readiness_checks(app: Flask) -> dict[str, str]:
    """Each backing service this app needs -> ``ok`` or what is wrong with it. Details stay in
    the log: the answer is public and must not reveal internal addresses."""
    state = app.extensions["nebulo"]
    problems = {"database": _database_problem(state)}
    if problems["database"] is None:
        problems["migrations"] = _migrations_problem(app)
    if state.settings.redis_url:
        problems["redis"] = _redis_problem(state.settings.redis_url)
    return {service: problem or "ok" for service, problem in problems.items()}


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, HealthSchema)
def healthz():
    """Liveness: the process answers. Checks no backing service (see ``/readyz``)."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.doc(security=[])
@blp.response(200, ReadinessSchema)
@blp.alt_response(
    503, schema=ErrorSchema, description="A backing service is down; `errors` names it"
)
def readyz():
    """Readiness: the database (migrated to head) and Redis (when configured) answer; 503 names
    what is not ready."""
    checks = readiness_checks(current_app._get_current_object())
    down = sorted(service for service, result in checks.items() if result != "ok")
    if down:
        raise ServiceUnavailable(
            "Not ready: " + ", ".join(f"{service} {checks[service]}" for service in down),
            errors={service: [checks[service]] for service in down},
        )
    return {"status": "ok", "checks": checks}


@dataclass(frozen=True)
class Finding:
    """One ``nebulo doctor`` check: ``level`` is ok, warning or error; ``message`` says what was
    found and, when something is wrong, what to do about it."""

    check: str
    level: str
    message: str


def deployment_findings(app: Flask) -> list[Finding]:
    """Everything ``nebulo doctor`` checks, in the order an operator would fix it."""
    state: Nebulo = app.extensions["nebulo"]
    settings = state.settings
    findings = [_database_finding(state)]
    if findings[0].level == "ok":
        findings.append(_migrations_finding(app))
    if settings.redis_url:
        redis_finding = _redis_finding(settings.redis_url)
        findings.append(redis_finding)
        if redis_finding.level == "ok":
            findings.append(_workers_finding(state))
    else:
        findings.append(
            Finding(
                "redis",
                "warning" if settings.is_production else "ok",
                "not configured: jobs run beside the web server and rate limits are counted per "
                "process; set REDIS_URL and run `nebulo worker` to scale out",
            )
        )
    findings.append(_secrets_finding(state))
    findings.extend(_plugin_findings(state))
    return findings


def _database_finding(state: Nebulo) -> Finding:
    missing_file = sqlite_path(state.settings.database_url)
    if missing_file is not None and not missing_file.exists():
        return Finding(
            "database",
            "error",
            f"the SQLite file {missing_file} does not exist: create it with `nebulo db upgrade`, "
            "or point DATABASE_URL (or NEBULO_INSTANCE_PATH) at the existing one",
        )
    try:
        _ping_database(state)
    except Exception as error:  # noqa: BLE001 - the operator needs whatever went wrong
        return Finding(
            "database",
            "error",
            f"unreachable: {error.__class__.__name__}: {str(error).splitlines()[0]}; check "
            "DATABASE_URL and that the database server runs and accepts this user",
        )
    backend = state.db.engine.dialect.name
    if backend == "sqlite" and state.settings.is_production:
        return Finding(
            "database",
            "warning",
            "SQLite in production serves one machine only; set DATABASE_URL to PostgreSQL",
        )
    return Finding("database", "ok", f"reachable ({backend})")


def _migrations_finding(app: Flask) -> Finding:
    from core import migrate

    state = migrate.migration_state(app)
    if not state.at_head:
        return Finding(
            "migrations",
            "error",
            f"not at head: {len(state.pending)} branch(es) to apply "
            f"({', '.join(state.pending)}); run `nebulo db upgrade`",
        )
    if state.unknown:
        return Finding(
            "migrations",
            "warning",
            f"the database holds revisions no loaded plugin knows ({', '.join(state.unknown)}): "
            "a plugin was disabled or uninstalled after its migrations ran",
        )
    return Finding("migrations", "ok", f"at head ({len(state.heads)} branches)")


def _redis_finding(url: str) -> Finding:
    try:
        _ping_redis(url)
    except redis.RedisError as error:
        return Finding(
            "redis", "error", f"unreachable: {error}; check REDIS_URL and that Redis runs"
        )
    return Finding("redis", "ok", "reachable")


def _workers_finding(state: Nebulo) -> Finding:
    queue = state.jobs.queue
    workers = rq.Worker.all(queue=queue)
    if not workers:
        return Finding(
            "workers",
            "error",
            f"no `nebulo worker` serves the queue {queue.name}: jobs wait forever; start one "
            "with the same REDIS_URL and NEBULO_REDIS_NAMESPACE",
        )
    return Finding("workers", "ok", f"{len(workers)} worker(s) alive on {queue.name}")


def _secrets_finding(state: Nebulo) -> Finding:
    """Production refuses to start without its secrets (so a missing one never gets here);
    development runs on a generated key that must not reach production."""
    if state.settings.is_production or state.settings.environ.get("NEBULO_SECRET_KEY"):
        return Finding("secrets", "ok", "NEBULO_SECRET_KEY is set")
    return Finding(
        "secrets",
        "ok",
        "development key from the instance folder; production needs NEBULO_SECRET_KEY",
    )


def _plugin_findings(state: Nebulo) -> list[Finding]:
    failed = [record for record in state.plugins.records.values() if record.status == "failed"]
    if not failed:
        loaded = sum(record.status == "loaded" for record in state.plugins.records.values())
        return [Finding("plugins", "ok", f"{loaded} loaded, none failed")]
    return [
        Finding(
            f"plugin {record.name}",
            "error",
            f"failed: {record.error}; fix or upgrade it, or set NEBULO_DISABLE_PLUGINS="
            f"{record.name}",
        )
        for record in failed
    ]
