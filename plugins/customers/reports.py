"""The customers plugin's part of the performance report: customers and churn risk."""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def report_sections(register):
    register(
        "performance",
        "customers",
        "Customers and churn risk",
        figures=("new_customers", "customers", "at_risk_customers", "average_churn_risk"),
        tables=(
            {
                "name": "customers_by_geography",
                "title": "Customers by geography",
                "metrics": ("customers", "at_risk_customers"),
                "group_by": ("geography",),
                "order": "-customers",
                "limit": 10,
                "chart": "bar",
            },
        ),
    )
