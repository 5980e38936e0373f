"""Pytest fixtures for testing a plugin against a real Nebulo app.

A plugin's test suite opts in from its top-level ``conftest.py``::

    pytest_plugins = ["core.testing"]

and gets ``app`` (every installed plugin loaded, on a temporary SQLite database migrated to
every branch's head), ``client``, ``api`` (register, log in, make a project), ``owner`` (the
headers of a freshly registered user) and ``project`` (a project that user owns). Each test
starts from empty tables. Override ``nebulo_settings`` to load fewer plugins or to set a
plugin's settings, e.g. ``{"plugins": ("assistant", "loyalty")}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core import migrate
from core.app import create_app
from core.config import load_settings
from core.db import Base

# Fast password hashing and no rate limit in the way of a test's many logins.
TEST_SETTINGS: dict[str, Any] = {
    "env": "testing",
    "secret_key": "test-secret-key-that-is-long-enough-0123456789",
    "argon2_time_cost": 1,
    "argon2_memory_kib": 1024,
    "rate_limit_default": "100000/minute",
    "rate_limit_auth": "100000/minute",
    "rate_limit_ai": "100000/minute",
    "rate_limit_login_account_address": "100000/minute",
    "rate_limit_login_address": "100000/minute",
    "rate_limit_login_account": "100000/minute",
}


class ApiClient:
    """A test client that knows how to register, log in and make a project."""

    def __init__(self, client: FlaskClient):
        self.client = client

    def register(
        self, email: str | None = None, password: str = "correct horse battery", **extra: Any
    ) -> dict:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        response = self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": password, **extra}
        )
        assert response.status_code == 201, response.get_json()
        return {**response.get_json(), "password": password}

    def login(self, email: str, password: str = "correct horse battery") -> dict:
        response = self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def user_headers(self, email: str | None = None) -> dict[str, str]:
        user = self.register(email)
        tokens = self.login(user["email"])
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    def project(self, headers: dict[str, str], name: str = "Store") -> dict:
        response = self.client.post("/api/v1/projects", json={"name": name}, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture(scope="session")
def nebulo_settings() -> dict[str, Any]:
    """Settings on top of the test defaults; override it in your conftest.py."""
    return {}


@pytest.fixture(scope="session")
def app(
    tmp_path_factory: pytest.TempPathFactory, nebulo_settings: dict[str, Any]
) -> Iterator[Flask]:
    """A Nebulo app with the installed plugins, on a fresh SQLite database at every head."""
    database = tmp_path_factory.mktemp("nebulo") / "nebulo.db"
    settings = load_settings(
        {}, **{**TEST_SETTINGS, "database_url": f"sqlite:///{database}", **nebulo_settings}
    )
    app = create_app(settings)
    migrate.upgrade(app)
    yield app
    app.extensions["nebulo"].jobs.stop()
    app.extensions["nebulo"].db.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test that uses the app starts from empty tables."""
    yield
    if "app" not in request.fixturenames:
        return
    state = request.getfixturevalue("app").extensions["nebulo"]
    with state.db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    if state.limiter is not None:
        state.limiter.reset()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(client: FlaskClient) -> ApiClient:
    return ApiClient(client)


@pytest.fixture
def owner(api: ApiClient) -> dict[str, str]:
    """Authorization headers of a freshly registered user."""
    return api.user_headers()


@pytest.fixture
def project(api: ApiClient, owner: dict[str, str]) -> dict:
    """A project owned by ``owner``."""
    return api.project(owner)
