"""Plugin ``console``: the operators' web console at ``/`` — login, assistant chat, dashboards,
inbox, reports — on vendored assets, no build step. Plugins add panels with the
``register_console_panels`` hook (:class:`plugins.console.panels.Panel`)."""

from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.console.panels import BUILT_IN, Panel

__all__ = ["Panel"]


@hookimpl
def plugin_info():
    return {
        "name": "console",
        "version": "1.0.0",
        "description": "The operators' web console: chat, dashboards, inbox, reports",
        "requires": [],
        "nebulo": ">=1.1,<2",
    }


@hookimpl
def register_blueprints(register):
    from plugins.console.routes import blp

    register(blp)


@hookimpl
def register_console_panels(register):
    for panel in BUILT_IN:
        register(panel)
