"""A third-party plugin that adds console panels: a chart on the dashboard, and figures on a page
of its own given as a plain dict of a panel's fields."""

from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.console import Panel


@hookimpl
def plugin_info():
    return {"name": "panelplugin", "version": "0.1.0", "requires": ["orders"]}


@hookimpl
def register_console_panels(register):
    register(
        Panel(
            name="panelplugin.orders_by_status",
            title="Orders by status (panel plugin)",
            kind="bar",
            query={"metrics": ["orders"], "period": "last 30 days", "group_by": ["status"]},
            order=70,
        )
    )
    register(
        {
            "name": "panelplugin.cancellations",
            "title": "Cancellations (panel plugin)",
            "kind": "figures",
            "query": {
                "metrics": ["cancelled_orders", "cancelled_amount"],
                "period": "last 30 days",
            },
            "page": "returns",
        }
    )
