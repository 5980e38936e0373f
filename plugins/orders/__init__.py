"""Plugin ``orders``: orders (transactions, carts), their items, the catalog, statistics."""

from __future__ import annotations

from pathlib import Path

from core.config import Setting
from core.hookspecs import hookimpl
from plugins.orders.reports import report_sections  # noqa: F401 - the reports hook


@hookimpl
def plugin_info():
    return {
        "name": "orders",
        "version": "1.0.0",
        "description": "Orders, transactions and carts, order items, catalog and order statistics",
        "requires": ["customers"],
    }


@hookimpl
def register_settings(register):
    register(
        Setting(
            "NEBULO_RATE_LIMIT_CREATE_ORDER",
            "10/minute",
            "Orders one user (or API key) may create per period (seed 000: 10 per minute)",
        )
    )


@hookimpl
def register_permissions(register):
    register("create_order", "Create sales orders", min_role="operator")
    register("view_order", "See orders, the catalog and order statistics", min_role="viewer")
    register("update_order", "Change an order's status, dates and items", min_role="operator")
    register("delete_order", "Delete sales orders", min_role="admin")
    register(
        "manage_catalog",
        "Create, change and delete product categories and products",
        min_role="admin",
    )


@hookimpl
def register_models(register):
    from plugins.orders import models  # noqa: F401 - adds the tables to Base.metadata

    register(Path(__file__).parent / "migrations")


@hookimpl
def register_blueprints(register):
    from plugins.orders.routes import catalog_blp, orders_blp

    register(orders_blp)
    register(catalog_blp)


@hookimpl
def register_tools(register):
    from plugins.orders import tools

    for tool in tools.TOOLS:
        register(tool)


@hookimpl
def register_commands(cli):
    from plugins.orders.cli import orders

    cli.add_command(orders)


@hookimpl
def load_demo(project, session):
    from plugins.orders.demo import load_demo_orders

    load_demo_orders(session, project.id)


@hookimpl
def register_metrics(register):
    from plugins.orders.metrics import METRICS

    for metric in METRICS:
        register(metric)
