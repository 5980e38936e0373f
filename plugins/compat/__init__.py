"""Plugin ``compat``: the original systems' own paths, bodies, pagination and errors
(``../seeds``), over Nebulo's services, so that their clients work by changing only their base
URL and credentials. Off unless ``NEBULO_COMPAT`` names the profiles to mount."""

from __future__ import annotations

from core.config import Setting
from core.hookspecs import hookimpl


@hookimpl
def plugin_info():
    return {
        "name": "compat",
        "version": "1.0.0",
        "description": "The original systems' paths (seeds 000, 002, 003, 004) over Nebulo",
        "requires": [],
        "nebulo": ">=1.0,<2",
    }


@hookimpl
def register_settings(register):
    from plugins.compat.base import parse_profiles

    register(
        Setting(
            "NEBULO_COMPAT",
            frozenset(),
            "Original systems whose paths to mount, comma-separated: 000, 002, 003, 004 "
            "(empty: none)",
            parse_profiles,
        )
    )


@hookimpl
def register_blueprints(register):
    from plugins.compat import auth, churn, nome, retail, viz

    for blueprint in (auth.blp, churn.blp, retail.blp, nome.blp, viz.blp):
        register(blueprint)
