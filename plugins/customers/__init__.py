"""Plugin ``customers``: customers, the churn-risk model, predictions, monitoring and alerts."""

from __future__ import annotations

from pathlib import Path

from core.config import Setting
from core.hookspecs import hookimpl
from plugins.customers.reports import report_sections  # noqa: F401 - the reports hook


def _probability(value: str) -> float:
    number = float(value)
    if not 0.0 < number < 1.0:
        raise ValueError("must be a probability between 0 and 1")
    return number


@hookimpl
def plugin_info():
    return {
        "name": "customers",
        "version": "1.0.0",
        "description": "Customers, churn-risk model, predictions, risk monitoring and alerts",
        "requires": [],
    }


@hookimpl
def register_settings(register):
    register(
        Setting(
            "NEBULO_CHURN_MEDIUM_THRESHOLD",
            0.4,
            "Churn risk from which a customer is in the medium tier",
            _probability,
        )
    )
    register(
        Setting(
            "NEBULO_CHURN_HIGH_THRESHOLD",
            0.7,
            "Churn risk from which a customer is in the high tier (and an alert is raised)",
            _probability,
        )
    )
    register(
        Setting(
            "NEBULO_CHURN_MIN_TRAINING_ROWS",
            50,
            "Fewest labelled customers the churn model is trained on",
            int,
        )
    )


@hookimpl
def register_permissions(register):
    register("view_customers", "See customers and their risk history", min_role="viewer")
    register("manage_customers", "Create, change, delete and import customers", min_role="operator")
    register(
        "view_predictions", "Score churn risk, see the risk dashboard and alerts", min_role="viewer"
    )
    register("train_models", "Train a new churn model version", min_role="admin")


@hookimpl
def register_models(register):
    from plugins.customers import models  # noqa: F401 - adds the tables to Base.metadata

    register(Path(__file__).parent / "migrations")


@hookimpl
def register_blueprints(register):
    from plugins.customers.routes import blp

    register(blp)


@hookimpl
def register_jobs(register):
    from plugins.customers import jobs

    register(jobs.train_churn_model, retries=0)
    register(jobs.predict_customers, retries=1, backoff=(10,))


@hookimpl
def register_commands(cli):
    from plugins.customers.cli import customers

    cli.add_command(customers)


@hookimpl
def load_demo(project, session):
    from plugins.customers.demo import load_demo_customers

    load_demo_customers(session, project.id)


@hookimpl
def register_tools(register):
    from plugins.customers import tools

    for function in (
        tools.find_customer,
        tools.customer_profile,
        tools.high_risk_customers,
        tools.explain_risk,
        tools.lookup_customer,
    ):
        register(function)


@hookimpl
def register_metrics(register):
    from plugins.customers.metrics import METRICS

    for metric in METRICS:
        register(metric)
