"""Fixtures: every test runs twice, on the embedded stack (SQLite, in-process jobs, memory
limits) and on the production stack (PostgreSQL in a schema of its own, Redis under a
namespace of its own). With NEBULO_REQUIRE_SERVICES=1 a missing service fails the run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from core import migrate
from core.app import create_app
from core.config import load_settings
from core.db import Base
from core.jobs.embedded import EmbeddedDispatcher
from core.testing import TEST_SETTINGS, ApiClient

POSTGRES_URL = os.environ.get(
    "NEBULO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("NEBULO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("NEBULO_REQUIRE_SERVICES") == "1"
BACKENDS = ("sqlite", "postgresql")


def _service_missing(what: str, error: Exception) -> None:
    message = f"{what} is not reachable: {error}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (NEBULO_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@dataclass
class Stack:
    """Where one backend's data lives: the database URL and the Redis URL and namespace."""

    name: str
    database_url: str
    redis_url: str | None
    namespace: str

    def settings(self, **overrides: Any):
        values = dict(TEST_SETTINGS)
        values.update(
            database_url=self.database_url, redis_url=self.redis_url, redis_namespace=self.namespace
        )
        values.update(overrides)
        return load_settings({}, **values)


@pytest.fixture(scope="session", params=BACKENDS)
def stack(request, tmp_path_factory) -> Iterator[Stack]:
    run_id = uuid.uuid4().hex[:12]
    namespace = f"nebulo-test-{run_id}"
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "nebulo.db"
        yield Stack("sqlite", f"sqlite:///{path}", None, namespace)
        return
    schema = f"test_{run_id}"
    try:
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as error:  # noqa: BLE001
        _service_missing("PostgreSQL/Redis", error)
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    yield Stack("postgresql", url, REDIS_URL, namespace)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)


@pytest.fixture(scope="session")
def app(stack: Stack):
    app = create_app(stack.settings())
    migrate.upgrade(app)
    yield app
    app.extensions["nebulo"].jobs.stop()
    app.extensions["nebulo"].db.dispose()


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Each test starts from empty tables and an empty Redis namespace."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    state = app.extensions["nebulo"]
    if isinstance(state.jobs, EmbeddedDispatcher):
        state.jobs.forget_waiting()  # one app for the session: a case's retries are its own
    with state.db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    if state.settings.redis_url:
        client = redis.Redis.from_url(state.settings.redis_url)
        for key in client.scan_iter(f"{state.settings.redis_namespace}*"):
            client.delete(key)
    if state.limiter is not None:
        state.limiter.reset()


@pytest.fixture
def make_app(stack: Stack, app):
    """Another app on the same database and Redis, with other settings or plugins."""
    created = []

    def build(extra_plugins=(), **overrides):
        other = create_app(stack.settings(**overrides), extra_plugins=extra_plugins)
        created.append(other)
        return other

    yield build
    for other in created:
        other.extensions["nebulo"].jobs.stop()
        other.extensions["nebulo"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client) -> ApiClient:
    return ApiClient(client)


@pytest.fixture
def owner(api) -> dict[str, str]:
    """Authorization headers of a freshly registered user."""
    return api.user_headers()


@pytest.fixture
def project(api, owner) -> dict:
    """A project owned by ``owner``."""
    return api.project(owner)


CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium, which Playwright drives (``playwright install`` needs the internet)."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for the browser tests; a missing one fails under NEBULO_REQUIRE_SERVICES."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        reason = f"no browser at {CHROMIUM} (.ci/run installs it: apt-get install chromium)"
        if os.environ.get("NEBULO_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()
