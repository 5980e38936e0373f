"""Compat fixtures: an app with every profile mounted, a store whose owner logs in by
username (as seeds 000, 002 and 003 do) and has one project, so it is their default."""

from __future__ import annotations

import uuid

import pytest

from core import migrate
from core.app import create_app
from plugins.persons import services as persons_services
from plugins.persons.storage import DirectoryStorage

ALL_PROFILES = frozenset({"000", "002", "003", "004"})
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def app(stack):
    """Like the suite's app, with ``NEBULO_COMPAT=000,002,003,004`` and room for the orders
    a test creates (seed 000's own limit is 10 a minute)."""
    plugin = {"NEBULO_COMPAT": ALL_PROFILES, "NEBULO_RATE_LIMIT_CREATE_ORDER": "100000/minute"}
    app = create_app(stack.settings(plugin=plugin))
    migrate.upgrade(app)
    yield app
    app.extensions["nebulo"].jobs.stop()
    app.extensions["nebulo"].db.dispose()


@pytest.fixture(autouse=True)
def _images_in_tmp_path(app, tmp_path):
    """Face images of a test go to its own directory, never to the checkout's instance/."""
    with app.app_context():
        persons_services.runtime().storage = DirectoryStorage(tmp_path / "persons-images")


class Store:
    """A registered user (with a username) and their one project."""

    def __init__(self, api, client):
        self.username = f"shop{uuid.uuid4().hex[:8]}"
        self.email = f"{self.username}@example.com"
        api.register(self.email, PASSWORD, username=self.username)
        tokens = api.login(self.email, PASSWORD)
        self.headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        self.project = api.project(self.headers)
        self.client = client

    def nebulo(self, method: str, path: str, **kwargs):
        """A call to Nebulo's own route of the project, ``/api/v1/<plugin>/<project_id>...``."""
        plugin, _, rest = path.partition("/")
        url = f"/api/v1/{plugin}/{self.project['id']}" + (f"/{rest}" if rest else "")
        response = self.client.open(url, method=method, headers=self.headers, **kwargs)
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    def api_key(self, *scopes: str) -> dict[str, str]:
        created = self.client.post(
            f"/api/v1/projects/{self.project['id']}/api-keys",
            json={"name": "device", "scopes": list(scopes)},
            headers=self.headers,
        )
        assert created.status_code == 201, created.get_json()
        return {"X-API-Key": created.get_json()["key"]}


@pytest.fixture
def store(api, client) -> Store:
    return Store(api, client)


@pytest.fixture
def other_store(api, client) -> Store:
    """Another tenant: its ids must be 404 to ``store``."""
    return Store(api, client)
