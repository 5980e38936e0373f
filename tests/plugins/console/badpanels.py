"""A plugin with two bad panels and a good one: a kind the console cannot draw, a name the
console itself registered."""

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
    register(Panel(name="badpanels.week", title="This week", kind="figures", query=ORDERS))
