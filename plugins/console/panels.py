"""Console panels: what a plugin puts on the console's dashboard or on a page of its own.

A panel is data the browser knows how to draw, never code: a metrics query (the one source of
figures) or a GET of one of a plugin's own routes, drawn as a line or bar chart, a table or a
row of figures; a source can also be drawn as a line with interval bands around it (a forecast).
Plugins contribute them through the ``register_console_panels`` hook; the
console collects them once per app, and each operator sees the ones their permissions allow.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.exceptions import HTTPException

if TYPE_CHECKING:
    # a type only: `nebulo --help` imports this module (plugins.console exports Panel)
    from core.context import Context

log = logging.getLogger(__name__)

HOOK = "register_console_panels"
KINDS = ("line", "bar", "table", "figures")
NAME_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
PAGE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
BUILT_IN_PAGES = ("chat", "inbox", "reports", "login")
"""Names a plugin's page cannot take: the console's own pages."""
SOURCE_PREFIX = "/api/v1/"


@dataclass(frozen=True)
class Panel:
    """One panel. ``query`` is a body of ``POST /api/v1/metrics/{project_id}/query``;
    ``source`` instead names a GET route (``/api/v1/...{project_id}...``) answering a list.
    A ``line`` panel over a source names its rows' ``x`` and ``y`` columns, and may shade
    ``bands``: (lower, upper) column pairs, widest first, e.g. a forecast's 95 % then 80 %."""

    name: str
    title: str
    kind: str
    query: dict[str, Any] | None = None
    source: str | None = None
    page: str = "dashboard"
    order: int = 100
    permission: str | None = None
    columns: tuple[str, ...] = ()
    x: str = ""
    y: str = ""
    bands: tuple[tuple[str, str], ...] = ()
    description: str = ""
    plugin: str = field(default="", compare=False)

    def problems(self) -> list[str]:
        """What is wrong with the panel (empty when the console can draw it)."""
        found = []
        if not re.match(NAME_PATTERN, self.name or ""):
            found.append(f"name {self.name!r} is not lower_snake_case (dots allowed)")
        if not self.title:
            found.append("it has no title")
        if self.kind not in KINDS:
            found.append(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not re.match(PAGE_PATTERN, self.page or "") or self.page in BUILT_IN_PAGES:
            found.append(f"page {self.page!r} is not a free lower_snake_case page name")
        if (self.query is None) == (self.source is None):
            found.append("give a metrics query or a source, one of them")
        if self.query is not None and not (
            isinstance(self.query, dict) and self.query.get("metrics")
        ):
            found.append("the query names no metrics")
        if self.source is not None and not (
            self.source.startswith(SOURCE_PREFIX) and "{project_id}" in self.source
        ):
            found.append(f"source must start with {SOURCE_PREFIX} and hold {{project_id}}")
        if (
            self.kind in ("line", "bar")
            and self.query is not None
            and not self.query.get("group_by")
        ):
            found.append(f"a {self.kind} chart needs a query with group_by")
        found.extend(self._line_problems())
        return found

    def _line_problems(self) -> list[str]:
        drawn_from_source = self.kind == "line" and self.source is not None
        if not drawn_from_source:
            if self.x or self.y or self.bands:
                return ["x, y and bands are for a line chart over a source"]
            return []
        found = []
        if not (_is_column(self.x) and _is_column(self.y)):
            found.append("a line chart over a source needs its x and y columns")
        if not all(
            isinstance(band, tuple) and len(band) == 2 and all(map(_is_column, band))
            for band in self.bands
        ):
            found.append("each band must be a (lower, upper) pair of column names")
        return found

    def visible_to(self, ctx: Context, metrics: dict[str, Any]) -> bool:
        """Whether this caller may see it: its permission, and every metric it reads."""
        if self.permission and not ctx.can(self.permission):
            return False
        for name in (self.query or {}).get("metrics", ()):
            metric = metrics.get(name)
            if metric is None or not ctx.can(metric.permission):
                return False
        return True

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["columns"] = list(self.columns)
        data["bands"] = [list(band) for band in self.bands]
        return data


def _is_column(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _as_panel(plugin: str, value: Any) -> Panel:
    if isinstance(value, dict):
        value = Panel(**value)
    if not isinstance(value, Panel):
        raise TypeError("register a plugins.console.Panel or a dict of its fields")
    bands = tuple(
        tuple(band) if isinstance(band, list | tuple) else band for band in value.bands or ()
    )
    return Panel(
        **{
            **asdict(value),
            "columns": tuple(value.columns),
            "bands": bands,
            "plugin": plugin,
        }
    )


def collect_panels(app: Flask) -> list[Panel]:
    """Every plugin's panels, the console's then the others' in load order, each checked: a bad
    one is left out with one log line naming its plugin and what is wrong; the others show."""
    state = app.extensions["nebulo"]
    panels: dict[str, Panel] = {}
    # The console's own panels first: a plugin that takes one of their names is the one refused.
    ordered = sorted(state.plugins.in_order(HOOK), key=lambda impl: impl.plugin_name != "console")
    for impl in ordered:
        plugin = impl.plugin_name
        if state.plugins.records[plugin].status != "loaded":
            continue

        def register(value: Any, plugin: str = plugin) -> None:
            try:
                panel = _as_panel(plugin, value)
            except TypeError as error:
                log.error("plugin %s: console panel refused: %s", plugin, error)
                return
            problems = panel.problems()
            if not problems and panel.source and not _serves(app, panel.source):
                if plugin == "console":  # the plugin serving it is not loaded: not an error
                    return
                problems.append(f"its source {panel.source} is not a GET route of this app")
            if panel.name in panels:
                problems.append(
                    f"it is registered by both {panels[panel.name].plugin} and {plugin}"
                )
            if problems:
                log.error(
                    "plugin %s: console panel %r refused: %s",
                    plugin,
                    panel.name,
                    "; ".join(problems),
                )
                return
            panels[panel.name] = panel

        try:
            state.plugins.call(HOOK, impl, register=register)
        except Exception:  # noqa: BLE001 - a plugin that raises loses its panels, no more
            log.exception("plugin %s failed in %s", plugin, HOOK)
    return sorted(panels.values(), key=lambda panel: (panel.page, panel.order, panel.name))


def _serves(app: Flask, source: str) -> bool:
    """Whether a GET of this source path reaches a route (its plugin is loaded)."""
    path = source.split("?", 1)[0].replace("{project_id}", str(uuid.UUID(int=0)))
    try:
        app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return False
    return True


def panels_for(app: Flask, ctx: Context) -> list[Panel]:
    """The panels this caller may see, collected on first use and kept with the app."""
    extension = app.extensions.setdefault("console", {})
    if "panels" not in extension:
        extension["panels"] = collect_panels(app)
    metrics = app.extensions["nebulo"].registry.metrics
    return [panel for panel in extension["panels"] if panel.visible_to(ctx, metrics)]


LAST_30_DAYS = "last 30 days"

BUILT_IN = (
    Panel(
        name="sales.totals",
        title="Sales in the last 30 days",
        kind="figures",
        query={
            "metrics": ["revenue", "orders", "average_order_value"],
            "period": LAST_30_DAYS,
            "compare": "previous_period",
        },
        order=10,
        description="Against the 30 days before",
    ),
    Panel(
        name="sales.revenue_by_day",
        title="Revenue by day",
        kind="line",
        query={
            "metrics": ["revenue"],
            "period": LAST_30_DAYS,
            "group_by": ["day"],
            "compare": "previous_period",
        },
        order=20,
        description="The dashed line is the 30 days before",
    ),
    Panel(
        name="sales.orders_by_day",
        title="Orders by day",
        kind="line",
        query={
            "metrics": ["orders"],
            "period": LAST_30_DAYS,
            "group_by": ["day"],
            "compare": "previous_period",
        },
        order=30,
        description="The dashed line is the 30 days before",
    ),
    Panel(
        name="sales.top_products",
        title="Top products by revenue",
        kind="bar",
        query={
            "metrics": ["product_revenue"],
            "period": LAST_30_DAYS,
            "group_by": ["product"],
            "order": "-product_revenue",
            "limit": 8,
        },
        order=40,
    ),
    Panel(
        name="customers.churn_risk",
        title="Customers by churn risk",
        kind="bar",
        query={"metrics": ["customers"], "period": LAST_30_DAYS, "group_by": ["risk_tier"]},
        order=50,
    ),
    Panel(
        name="customers.riskiest",
        title="Riskiest customers",
        kind="table",
        source="/api/v1/customers/{project_id}?sort_by=risk_score&order=desc&page_size=8",
        permission="view_customers",
        columns=("name", "email", "risk_score", "risk_tier"),
        order=60,
    ),
    Panel(
        name="visitors.by_day",
        title="Visitors by day",
        kind="line",
        query={"metrics": ["unique_visitors"], "period": LAST_30_DAYS, "group_by": ["day"]},
        page="visitors",
        order=10,
    ),
    Panel(
        name="visitors.returning",
        title="Visits and returning visitors",
        kind="figures",
        query={
            "metrics": ["visits", "returning_visitor_rate"],
            "period": LAST_30_DAYS,
            "compare": "previous_period",
        },
        page="visitors",
        order=20,
    ),
    Panel(
        name="analytics.segments",
        title="Customers by RFM segment",
        kind="bar",
        query={"metrics": ["segment_customers"], "period": LAST_30_DAYS, "group_by": ["segment"]},
        page="analytics",
        order=10,
        description="The latest segmentation run",
    ),
    Panel(
        name="analytics.forecast",
        title="Sales forecast, next 30 days",
        kind="line",
        source="/api/v1/analytics/{project_id}/forecast/days?days=30",
        permission="view_predictions",
        columns=("date", "revenue", "low_80", "high_80", "low_95", "high_95"),
        x="date",
        y="revenue",
        bands=(("low_95", "high_95"), ("low_80", "high_80")),
        page="analytics",
        order=20,
        description="Predicted revenue by day; the bands are the 80 % and 95 % intervals",
    ),
    Panel(
        name="memberships.by_tier",
        title="Active members by tier",
        kind="bar",
        query={"metrics": ["active_members"], "period": LAST_30_DAYS, "group_by": ["tier"]},
        page="memberships",
        order=10,
    ),
    Panel(
        name="memberships.revenue",
        title="Revenue from members and non-members",
        kind="figures",
        query={"metrics": ["member_revenue", "non_member_revenue"], "period": LAST_30_DAYS},
        page="memberships",
        order=20,
    ),
)
"""The console's own panels, over other plugins' metrics and routes: each shows only when the
plugin that registers its metrics or serves its source is loaded (hidden then, not an error)."""
