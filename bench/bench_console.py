"""The web console on the demo data, as `make run` serves it (SQLite, one threaded server),
measured in Debian's Chromium: the login page usable, the dashboard drawn after logging in, and
each dashboard panel's API call.

Baselines: the same browser opening ``/healthz`` (the least a page load costs on this server)
and the lightest authenticated API call (``GET /api/v1/auth/me``).
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from werkzeug.serving import make_server

from bench import Figure, Target, median_ms, median_of
from core import migrate
from core.app import create_app
from core.cli import DEMO_EMAIL, DEMO_PASSWORD
from core.config import load_settings
from core.demo import load_demo_data
from core.testing import TEST_SETTINGS

RUNS = 5
CHROMIUM = "/usr/bin/chromium"
PAGE_TARGET_MS = 1000.0
API_TARGET_MS = 100.0
DRAWN = """() => {
  const panels = [...document.querySelectorAll("[data-panel]")];
  const shown = (panel, selector) => panel.querySelector(selector).style.display !== "none";
  return panels.length > 0 && panels.every((panel) => !shown(panel, ".loading") && (
    panel.querySelector(".chart svg") || shown(panel, ".empty") || shown(panel, "[role=alert]")
    || panel.matches(".panel-figures, .panel-table")));
}"""
"""Every panel has its answer: a chart drawn, figures or a table filled, or said empty."""


def _serve(directory: str) -> tuple[str, Any, Any]:
    settings = {**TEST_SETTINGS, "database_url": f"sqlite:///{directory}/nebulo.db"}
    app = create_app(load_settings({}, **settings))
    migrate.upgrade(app)
    with app.app_context():
        load_demo_data(app, DEMO_EMAIL, DEMO_PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server, app


def _page_figures(base: str) -> list[Figure]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)

        def fresh_page() -> Any:
            return browser.new_context().new_page()

        def login_page_usable() -> float:
            page = fresh_page()
            page.goto(base + "/")
            page.wait_for_selector("#login-user")
            usable = page.evaluate("() => performance.now()")
            page.context.close()
            return usable

        def blank_page() -> float:
            page = fresh_page()
            page.goto(base + "/healthz")
            loaded = page.evaluate("() => performance.now()")
            page.context.close()
            return loaded

        def dashboard_drawn() -> float:
            page = fresh_page()
            page.goto(base + "/")
            page.fill("#login-user", DEMO_EMAIL)
            page.fill("#login-password", DEMO_PASSWORD)
            started = time.perf_counter()
            page.keyboard.press("Enter")
            page.wait_for_function(DRAWN)
            drawn = (time.perf_counter() - started) * 1000
            page.context.close()
            return drawn

        login_page_usable()  # the first launch warms the browser's caches of nothing but itself
        blank = median_of(RUNS, blank_page)
        usable = median_of(RUNS, login_page_usable)
        dashboard = median_of(RUNS, dashboard_drawn)
        browser.close()
    return [
        Figure(
            "console: login page usable, navigation start to form",
            usable,
            "ms",
            blank,
            "browser opening /healthz",
            RUNS,
            Target("<", PAGE_TARGET_MS),
        ),
        Figure(
            "console: dashboard drawn after login (demo data)",
            dashboard,
            "ms",
            blank,
            "browser opening /healthz",
            RUNS,
        ),
    ]


def _api_figure(base: str) -> Figure:
    with httpx.Client(base_url=base, timeout=30) as http:
        tokens = http.post(
            "/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        project = http.get("/api/v1/projects", headers=headers).json()[0]["id"]
        console = http.get(f"/api/v1/console/{project}", headers=headers).json()
        calls = []
        for panel in console["panels"]:
            if panel["query"]:
                calls.append(("POST", f"/api/v1/metrics/{project}/query", panel["query"]))
            else:
                calls.append(("GET", panel["source"].replace("{project_id}", project), None))

        def call(method: str, path: str, body: Any) -> None:
            response = http.request(method, path, json=body, headers=headers)
            response.raise_for_status()

        slowest = max(median_ms(RUNS, lambda c=c: call(*c)) for c in calls)
        baseline = median_ms(RUNS, lambda: call("GET", "/api/v1/auth/me", None))
    return Figure(
        f"console: slowest of the {len(calls)} panels' API calls",
        slowest,
        "ms",
        baseline,
        "GET /api/v1/auth/me",
        RUNS,
        Target("<", API_TARGET_MS),
    )


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as directory:
        base, server, app = _serve(directory)
        try:
            return [*_page_figures(base), _api_figure(base)]
        finally:
            server.shutdown()
            app.extensions["nebulo"].jobs.stop()
            app.extensions["nebulo"].db.dispose()
            Path(directory, "nebulo.db").unlink(missing_ok=True)
