"""``/docs`` and ``/redoc`` load pinned Swagger UI and ReDoc files that Nebulo serves itself:
no external host, every asset there, cacheable, public and never rate-limited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from core.openapi import DOCS_ASSETS_PATH, REDOC, SWAGGER_UI_DIST
from tests.core.helpers import served

VENDOR = Path(__file__).parents[2] / "core" / "static" / "vendor"
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}
EXPECTED_ASSETS = {
    "/docs": {
        f"{DOCS_ASSETS_PATH}/{SWAGGER_UI_DIST}/swagger-ui.css",
        f"{DOCS_ASSETS_PATH}/{SWAGGER_UI_DIST}/swagger-ui-bundle.js",
        f"{DOCS_ASSETS_PATH}/{SWAGGER_UI_DIST}/swagger-ui-standalone-preset.js",
    },
    "/redoc": {f"{DOCS_ASSETS_PATH}/{REDOC}/redoc.standalone.js"},
}


class _References(HTMLParser):
    """Every URL a page makes the browser load: scripts, stylesheets, images, frames."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.add(value)


def _references(page: str) -> set[str]:
    parser = _References()
    parser.feed(page)
    return parser.urls


@pytest.mark.parametrize("page", sorted(EXPECTED_ASSETS))
def test_documentation_page_references_no_external_host(client, page):
    html = client.get(page).get_data(as_text=True)
    for url in _references(html):
        assert not urlsplit(url).netloc and not url.startswith("//"), f"{page} loads {url}"
    assert not re.search(r"https?://", re.sub(r"<!--.*?-->", "", html, flags=re.S)), page
    assert _references(html) == EXPECTED_ASSETS[page]


@pytest.mark.parametrize("page", sorted(EXPECTED_ASSETS))
def test_every_asset_of_a_documentation_page_is_served(client, page):
    for url in _references(client.get(page).get_data(as_text=True)):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == CONTENT_TYPES[Path(url).suffix], url
        assert response.content_length and response.content_length > 1000, url


def test_assets_are_public_and_cached_for_a_year(client):
    url = f"{DOCS_ASSETS_PATH}/{REDOC}/redoc.standalone.js"
    response = client.get(url)
    assert response.status_code == 200
    assert response.cache_control.public and response.cache_control.max_age == 365 * 24 * 3600
    assert client.get(url, headers={"If-None-Match": response.get_etag()[0]}).status_code == 304


def test_assets_are_exempt_from_rate_limits(make_app):
    limited = make_app(rate_limit_default="2/minute").test_client()
    url = f"{DOCS_ASSETS_PATH}/{SWAGGER_UI_DIST}/swagger-ui.css"
    assert [limited.get(url).status_code for _ in range(4)] == [200] * 4
    assert [limited.get("/docs").status_code for _ in range(4)] == [200] * 4
    assert [limited.get("/api/v1/plugins").status_code for _ in range(3)][-1] == 429


@pytest.mark.parametrize(
    "path",
    [
        f"{DOCS_ASSETS_PATH}/{REDOC}/missing.js",
        f"{DOCS_ASSETS_PATH}/../README.md",
        f"{DOCS_ASSETS_PATH}/%2e%2e/%2e%2e/app.py",
    ],
)
def test_nothing_outside_the_vendored_files_is_served(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["code"] == "NOT_FOUND"


def test_vendored_files_carry_their_licenses():
    for directory in (SWAGGER_UI_DIST, REDOC):
        assert (VENDOR / directory / "LICENSE").is_file(), directory
        assert directory in (VENDOR / "README.md").read_text(), directory


"""Debian's chromium; .ci/run installs it."""


@pytest.fixture
def server(app) -> Iterator[str]:
    with served(app) as address:
        yield f"http://{address}"


@pytest.fixture
def offline_page(browser, server) -> Iterator[tuple[Any, list[str]]]:
    """A browser page that can reach only 127.0.0.1, and the other URLs it tried to load."""
    blocked: list[str] = []

    def only_local(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    # A tall window: with ~140 operations, Swagger UI in a 720-pixel-high headless window
    # rendered only the first tags (seen 2026-11-30 in headless Chromium; cause not found).
    context = browser.new_context(viewport={"width": 1280, "height": 4000})
    page = context.new_page()
    page.route("**/*", only_local)
    yield page, blocked
    context.close()


REDOC_BRANDING_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
"""ReDoc's sidebar footer always asks for this image and hides it when it fails to load."""


@pytest.mark.parametrize(
    ("page_path", "operation", "optional_outside"),
    [
        ("/docs", ".opblock-summary-path", set()),
        ("/redoc", "[data-section-id*='/paths/']", {REDOC_BRANDING_LOGO}),
    ],
)
def test_documentation_page_renders_operations_without_network(
    server, offline_page, page_path, operation, optional_outside
):
    page, blocked = offline_page
    page.goto(server + page_path)
    page.wait_for_selector(operation, state="attached", timeout=20_000)
    assert page.locator(operation).count() > 10
    assert set(blocked) <= optional_outside
