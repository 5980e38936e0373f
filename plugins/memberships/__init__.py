"""Plugin ``memberships``: customers' memberships (tier and period), the per-project tier list,
the daily expiry, and the check that an order's membership is its customer's and current."""

from __future__ import annotations

from pathlib import Path

from core.config import Setting
from core.hookspecs import hookimpl
from plugins.memberships.reports import report_sections  # noqa: F401 - the reports hook


@hookimpl
def plugin_info():
    return {
        "name": "memberships",
        "version": "1.0.0",
        "description": "Customers' membership tiers and periods",
        "requires": ["customers", "orders"],
        "nebulo": ">=1.0,<2",
    }


@hookimpl
def register_settings(register):
    from plugins.memberships.services import DEFAULT_TIERS, parse_tier_list

    register(
        Setting(
            "NEBULO_MEMBERSHIP_TIERS",
            DEFAULT_TIERS,
            "Tiers a project starts with, lowest first, comma-separated (admins change them)",
            parse_tier_list,
        )
    )


@hookimpl
def register_permissions(register):
    register("view_memberships", "See memberships and the tier list", min_role="viewer")
    register("manage_memberships", "Add, change and delete memberships", min_role="operator")
    register("manage_membership_tiers", "Change the project's membership tiers", min_role="admin")


@hookimpl
def register_models(register):
    from plugins.memberships import models  # noqa: F401 - adds the tables to Base.metadata

    register(Path(__file__).parent / "migrations")


@hookimpl
def register_blueprints(register):
    from plugins.memberships.routes import blp

    register(blp)


@hookimpl
def register_jobs(register):
    from plugins.memberships import jobs

    register(jobs.expire_memberships, retries=2, backoff=(60, 600))


@hookimpl
def register_commands(cli):
    from plugins.memberships.cli import memberships

    cli.add_command(memberships)


@hookimpl
def register_tools(register):
    from plugins.memberships import tools

    register(tools.customer_membership_tier)
    register(tools.members_by_tier)


@hookimpl
def register_metrics(register):
    from plugins.memberships.metrics import METRICS

    for metric in METRICS:
        register(metric)


@hookimpl
def check_order(session, order):
    from plugins.memberships.services import check_order_membership

    check_order_membership(session, order)


@hookimpl
def load_demo(project, session):
    from plugins.memberships.services import load_demo_memberships

    load_demo_memberships(session, project.id)
