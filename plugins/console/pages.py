"""The console's page and files: ``/`` serves one HTML page (no build step); its scripts and
styles come from ``/console/assets``: the vendored, pinned libraries with a one-year cache (the
version is in their URL), the console's own two files revalidated by ETag."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, render_template

from core.cli import DEMO_EMAIL, DEMO_PASSWORD
from core.http import any_query_parameters

ASSETS_PATH = "/console/assets"
ASSETS_MAX_AGE = timedelta(days=365)
VENDOR = {
    "alpine": "vendor/alpinejs-3.17.5/cdn.min.js",
    "vega": "vendor/vega-5.33.1/vega.min.js",
    "vega_lite": "vendor/vega-lite-5.23.0/vega-lite.min.js",
    "vega_embed": "vendor/vega-embed-6.29.0/vega-embed.min.js",
}
"""Vendored files by role; ``static/vendor/README.md`` says where each comes from."""
DEMO_ENVIRONMENTS = ("development",)


class ConsolePages(Blueprint):
    """A vendored file never changes under its URL; the console's own are asked for again."""

    def get_send_file_max_age(self, filename: str | None) -> int:
        if filename and filename.startswith("vendor/"):
            return int(ASSETS_MAX_AGE.total_seconds())
        return 0


pages = ConsolePages(
    "console_pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path=ASSETS_PATH,
)


@pages.route("/")
@any_query_parameters
def index() -> str:
    """The console. The demo login is shown only in development, where `make run` loads it."""
    settings = current_app.extensions["nebulo"].settings
    demo = None
    if settings.env in DEMO_ENVIRONMENTS:
        demo = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    assets = {name: f"{ASSETS_PATH}/{path}" for name, path in VENDOR.items()}
    assets["script"] = f"{ASSETS_PATH}/console/console.js"
    assets["style"] = f"{ASSETS_PATH}/console/console.css"
    return render_template("console/index.html", assets=assets, config={"demo": demo})
