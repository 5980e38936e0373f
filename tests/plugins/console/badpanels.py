"""A plugin with bad panels and a good one: a kind the console cannot draw, a name the console
itself registered, bands on a metrics query, and a source no route serves."""

from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.console import Panel

ORDERS = {"metrics": ["orders"], "period": "last 7 days"}


@hookimpl
def plugin_info():
    return {"name": "badpanels", "version": "0.1.0"}


@hookimpl
def register_console_panels(register):
    register(Panel(name="badpanels.pie", title="Pie", kind="pie", query=ORDERS))
    register(Panel(name="sales.totals", title="Mine", kind="figures", query=ORDERS))
    register(
        Panel(
            name="badpanels.banded",
            title="Banded",
            kind="line",
            query={**ORDERS, "group_by": ["day"]},
            bands=(("low", "high"),),
        )
    )
    register(
        {
            "name": "badpanels.nowhere",
            "title": "Nowhere",
            "kind": "line",
            "source": "/api/v1/nowhere/{project_id}/days",
            "x": "date",
            "y": "value",
        }
    )
    register(Panel(name="badpanels.week", title="This week", kind="figures", query=ORDERS))
