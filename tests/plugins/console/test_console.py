"""The console's page, files and API on both stacks: ``/`` serves the page with only Nebulo's own
files, the demo login shows in development only, and ``/api/v1/console/<project_id>`` tells each
member their role, permissions and the panels plugins contributed that they may see."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from core.cli import DEMO_EMAIL, DEMO_PASSWORD
from plugins.console.pages import ASSETS_PATH, VENDOR
from tests.plugins.console import badpanels, panelplugin

VENDOR_DIR = Path(__file__).parents[3] / "plugins" / "console" / "static" / "vendor"
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}
YEAR = 365 * 24 * 3600


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls.update(value for name, value in attrs if name in ("src", "href") and value)


def page_assets(html: str) -> set[str]:
    parser = _Assets()
    parser.feed(html)
    return {url for url in parser.urls if not url.startswith("#")}


def test_the_console_is_served_at_the_root_with_only_its_own_files(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    urls = page_assets(html)
    assert urls == {
        f"{ASSETS_PATH}/console/console.css",
        f"{ASSETS_PATH}/console/console.js",
        f"{ASSETS_PATH}/{VENDOR['alpine']}",
    }
    for url in urls:
        assert not urlsplit(url).netloc
    # vega is loaded on the first chart; its URLs are in the page's own configuration
    for name in ("vega", "vega_lite", "vega_embed"):
        assert f"{ASSETS_PATH}/{VENDOR[name]}" in html
    assert not re.search(r"https?://", html)


def test_every_console_file_is_served_vendored_ones_cached_for_a_year(client):
    for path in [*VENDOR.values(), "console/console.js", "console/console.css"]:
        response = client.get(f"{ASSETS_PATH}/{path}")
        assert response.status_code == 200, path
        assert response.mimetype == CONTENT_TYPES[Path(path).suffix], path
        assert response.content_length > 1000, path
        if path.startswith("vendor/"):
            assert response.cache_control.max_age == YEAR, path
        else:
            assert not response.cache_control.max_age, path  # asked again: ETag, 304
            etag = response.get_etag()[0]
            assert (
                client.get(f"{ASSETS_PATH}/{path}", headers={"If-None-Match": etag}).status_code
                == 304
            )


def test_nothing_outside_the_console_files_is_served(client):
    for path in ("vendor/missing.js", "../pages.py", "%2e%2e/%2e%2e/routes.py"):
        response = client.get(f"{ASSETS_PATH}/{path}")
        assert response.status_code == 404, path
        assert response.get_json()["code"] == "NOT_FOUND"


def test_the_vendored_files_carry_their_licenses_and_versions():
    notes = (VENDOR_DIR / "README.md").read_text()
    for path in VENDOR.values():
        directory = Path(path).parts[1]
        assert (VENDOR_DIR / directory / "LICENSE").is_file(), directory
        assert f"`{directory}/`" in notes, directory
        package, version = directory.rsplit("-", 1)
        assert f"{package}@{version}" in notes


def test_the_demo_login_is_shown_in_development_only(make_app, client):
    assert DEMO_PASSWORD not in client.get("/").get_data(as_text=True)
    development = make_app(env="development").test_client()
    html = development.get("/").get_data(as_text=True)
    assert DEMO_EMAIL in html and DEMO_PASSWORD in html


def test_the_console_api_needs_a_member(api, client, owner, project):
    url = f"/api/v1/console/{project['id']}"
    assert client.get(url).status_code == 401
    stranger = api.user_headers()
    response = client.get(url, headers=stranger)
    assert response.status_code == 404 and response.get_json()["code"] == "NOT_FOUND"
    assert client.get(url + "?page=2", headers=owner).status_code == 422


def test_an_owner_sees_the_built_in_panels_of_the_loaded_plugins(client, owner, project):
    body = client.get(f"/api/v1/console/{project['id']}", headers=owner).get_json()
    assert body["role"] == "owner" and body["project_name"] == project["name"]
    assert {"manage_members", "send_messages", "use_assistant"} <= set(body["permissions"])
    names = {panel["name"] for panel in body["panels"]}
    assert {"sales.totals", "sales.revenue_by_day", "sales.top_products"} <= names
    assert {"customers.churn_risk", "customers.riskiest"} <= names
    assert {"visitors.by_day", "memberships.by_tier"} <= names  # those plugins are installed
    assert "analytics.segments" in names
    forecast = next(panel for panel in body["panels"] if panel["name"] == "analytics.forecast")
    assert forecast["page"] == "analytics" and forecast["kind"] == "line"
    assert forecast["source"].endswith("/forecast/days?days=30")
    assert (forecast["x"], forecast["y"]) == ("date", "revenue")
    assert forecast["bands"] == [["low_95", "high_95"], ["low_80", "high_80"]]
    assert body["pages"][0] == "dashboard" and {"visitors", "memberships"} <= set(body["pages"])
    assert all(panel["plugin"] == "console" for panel in body["panels"])


def test_a_viewer_gets_a_viewers_permissions(api, client, owner, project):
    viewer = api.register()
    invited = client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"email": viewer["email"], "role": "viewer"},
        headers=owner,
    )
    assert invited.status_code == 201
    tokens = api.login(viewer["email"])
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    body = client.get(f"/api/v1/console/{project['id']}", headers=headers).get_json()
    assert body["role"] == "viewer"
    assert "send_messages" not in body["permissions"]
    assert "manage_members" not in body["permissions"]
    assert {"use_assistant", "view_order"} <= set(body["permissions"])


def test_a_plugin_adds_a_panel_and_a_page_through_the_hook(make_app, api, owner, project):
    app = make_app(extra_plugins=[("panelplugin", panelplugin)])
    body = app.test_client().get(f"/api/v1/console/{project['id']}", headers=owner).get_json()
    panels = {panel["name"]: panel for panel in body["panels"]}
    assert panels["panelplugin.orders_by_status"]["plugin"] == "panelplugin"
    assert panels["panelplugin.orders_by_status"]["page"] == "dashboard"
    assert panels["panelplugin.cancellations"]["page"] == "returns"
    assert "returns" in body["pages"]


def test_bad_panels_are_refused_with_the_plugin_named_and_the_rest_still_show(
    make_app, owner, project, caplog
):
    app = make_app(extra_plugins=[("badpanels", badpanels)])
    with caplog.at_level(logging.ERROR, logger="plugins.console.panels"):
        body = app.test_client().get(f"/api/v1/console/{project['id']}", headers=owner).get_json()
    panels = {panel["name"]: panel for panel in body["panels"]}
    assert "badpanels.pie" not in panels
    assert panels["sales.totals"]["plugin"] == "console"
    assert panels["badpanels.week"]["plugin"] == "badpanels"
    lines = [record.getMessage() for record in caplog.records]
    assert any("badpanels" in line and "'pie' is not one of" in line for line in lines)
    assert any("registered by both console and badpanels" in line for line in lines)
    assert "badpanels.banded" not in panels and "badpanels.nowhere" not in panels
    assert any("x, y and bands are for a line chart over a source" in line for line in lines)
    assert any(
        "source /api/v1/nowhere/{project_id}/days is not a GET route" in line for line in lines
    )


def test_panels_whose_metrics_are_not_loaded_are_hidden(make_app, api):
    app = make_app(plugins=("console", "orders", "customers"))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {_login(client, api)['access_token']}"}
    project = client.post("/api/v1/projects", json={"name": "Small"}, headers=headers).get_json()
    body = client.get(f"/api/v1/console/{project['id']}", headers=headers).get_json()
    names = {panel["name"] for panel in body["panels"]}
    assert "sales.totals" in names
    assert not any(name.startswith(("visitors.", "memberships.", "analytics.")) for name in names)
    assert body["pages"] == ["dashboard"]


def _login(client, api) -> dict:
    user = api.register()
    return client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": user["password"]}
    ).get_json()
