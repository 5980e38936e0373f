"""What a production deployment relies on: start-up refusals, client addresses behind a proxy,
a demo that stays out of production, 503 instead of 500 when Redis is down, and probes."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.app import create_app
from core.auth.models import User
from core.cli import demo
from core.config import ConfigError
from tests.core.helpers import assert_error

ENCRYPTION_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dead_redis_app(make_app):
    """An app on the stack's database whose Redis cannot be reached."""
    return make_app(redis_url=f"redis://127.0.0.1:{closed_port()}/0")


def failed_login(client, address: str):
    """A wrong password from ``address`` (as the proxy reports it), each for another account so
    that only the per-address budget is spent."""
    return client.post(
        "/api/v1/auth/login",
        json={"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "wrong password"},
        headers={"X-Forwarded-For": address},
    )


# --- start-up ---------------------------------------------------------------------------------


def test_production_without_the_encryption_key_refuses_to_start(stack):
    settings = stack.settings(env="production")
    with pytest.raises(ConfigError, match="NEBULO_ENCRYPTION_KEY is not set"):
        create_app(settings)


@pytest.mark.slow
def test_the_nebulo_command_names_the_missing_key_in_one_line(tmp_path):
    environ = {
        "PATH": os.environ["PATH"],
        "NEBULO_ENV": "production",
        "NEBULO_SECRET_KEY": "s" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path}/nebulo.db",
    }
    nebulo = Path(sys.executable).with_name("nebulo")
    result = subprocess.run(
        [nebulo, "db", "current"], env=environ, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: NEBULO_ENCRYPTION_KEY is not set")
    assert "Traceback" not in result.stderr


def test_production_with_the_encryption_key_starts(make_app):
    app = make_app(env="production", plugin={"NEBULO_ENCRYPTION_KEY": ENCRYPTION_KEY})
    assert app.extensions["nebulo"].plugins.records["messages"].status == "loaded"


# --- client address behind a proxy -------------------------------------------------------------


def test_without_trusted_proxies_x_forwarded_for_does_not_change_the_rate_limited_address(
    make_app,
):
    client = make_app(rate_limit_auth="2/minute").test_client()
    assert failed_login(client, "203.0.113.1").status_code == 401
    assert failed_login(client, "203.0.113.2").status_code == 401
    assert_error(failed_login(client, "203.0.113.3"), 429, "RATE_LIMITED")


def test_with_a_trusted_proxy_each_forwarded_address_has_its_own_budget(make_app):
    client = make_app(rate_limit_auth="2/minute", trusted_proxies=1).test_client()
    assert failed_login(client, "203.0.113.1").status_code == 401
    assert failed_login(client, "203.0.113.1").status_code == 401
    assert_error(failed_login(client, "203.0.113.1"), 429, "RATE_LIMITED")
    assert failed_login(client, "203.0.113.2").status_code == 401
    # Only the hop the proxy appended counts: an address the client wrote itself is ignored.
    assert_error(failed_login(client, "198.51.100.9, 203.0.113.1"), 429, "RATE_LIMITED")


# --- demo data ---------------------------------------------------------------------------------


def _users(app) -> int:
    with app.extensions["nebulo"].db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(User))


def test_demo_refuses_in_production_without_force(make_app):
    app = make_app(env="production", plugins=("no-plugin",))
    result = app.test_cli_runner().invoke(demo, [])
    assert result.exit_code == 1
    assert "NEBULO_ENV=production" in result.output and "--force" in result.output
    assert _users(app) == 0


def test_demo_loads_in_production_with_force(make_app):
    app = make_app(env="production", plugins=("no-plugin",))
    result = app.test_cli_runner().invoke(demo, ["--force"])
    assert result.exit_code == 0, result.output
    assert "demo data loaded" in result.output and _users(app) == 1


# --- Redis down ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/v1/auth/login"), ("get", "/api/v1/projects"), ("get", "/api/v1/plugins")],
)
def test_with_redis_down_requests_get_503_not_500(dead_redis_app, method, path):
    client = dead_redis_app.test_client()
    response = getattr(client, method)(path, json={"email": "a@example.com", "password": "x" * 9})
    body = assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert "Redis" in body["detail"] and "127.0.0.1" not in body["detail"]
    assert response.headers["Retry-After"]


def test_with_redis_down_nothing_is_half_written(dead_redis_app, api):
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    refused = dead_redis_app.test_client().post(
        "/api/v1/auth/register", json={"email": email, "password": "correct horse battery"}
    )
    assert_error(refused, 503, "SERVICE_UNAVAILABLE")
    assert _users(dead_redis_app) == 0
    assert api.register(email)["email"] == email  # the same request succeeds once Redis is back


# --- probes -------------------------------------------------------------------------------------


def test_readiness_checks_the_database_and_redis_when_configured(app, client, stack):
    response = client.get("/readyz")
    assert response.status_code == 200
    expected = {
        "database": "ok",
        "migrations": "ok",
        **({"redis": "ok"} if stack.redis_url else {}),
    }
    assert response.get_json() == {"status": "ok", "checks": expected}


def test_readiness_names_redis_when_it_is_down_while_liveness_stays_ok(dead_redis_app):
    client = dead_redis_app.test_client()
    body = assert_error(client.get("/readyz"), 503, "SERVICE_UNAVAILABLE")
    assert body["detail"] == "Not ready: redis unreachable"
    assert body["errors"] == {"redis": ["unreachable"]}
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readiness_names_the_database_when_it_is_down(make_app):
    down = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nebulo"
    client = make_app(database_url=down).test_client()
    body = assert_error(client.get("/readyz"), 503, "SERVICE_UNAVAILABLE")
    assert body["errors"]["database"] == ["unreachable"]
    assert client.get("/healthz").status_code == 200


def test_probes_are_public_documented_and_never_rate_limited(make_app):
    client = make_app(rate_limit_default="1/minute").test_client()
    for _ in range(3):
        assert client.get("/readyz").status_code == 200
        assert client.get("/healthz").status_code == 200
    paths = client.get("/openapi.json").get_json()["paths"]
    assert paths["/healthz"]["get"]["security"] == []
    assert paths["/readyz"]["get"]["security"] == []
    assert "503" in paths["/readyz"]["get"]["responses"]
