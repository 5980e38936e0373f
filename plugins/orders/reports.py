"""The orders plugin's part of reports: the sales report, and orders in the performance one."""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def report_sections(register):
    register(
        "sales",
        "sales",
        "Sales",
        figures=(
            "revenue",
            "orders",
            "average_order_value",
            "items_sold",
            "largest_order",
            "cancelled_orders",
            "refunded_amount",
        ),
        tables=(
            {
                "name": "revenue_by_day",
                "title": "Revenue by day",
                "metrics": ("revenue", "paid_orders"),
                "group_by": ("day",),
                "chart": "line",
            },
            {
                "name": "top_products",
                "title": "Top products",
                "metrics": ("product_revenue", "items_sold"),
                "group_by": ("product",),
                "order": "-product_revenue",
                "limit": 10,
                "chart": "bar",
            },
            {
                "name": "top_customers",
                "title": "Top customers",
                "metrics": ("revenue", "paid_orders"),
                "group_by": ("customer",),
                "order": "-revenue",
                "limit": 10,
                "chart": "bar",
            },
            {
                "name": "orders_by_status",
                "title": "Orders by status",
                "metrics": ("orders",),
                "group_by": ("status",),
                "order": "-orders",
                "chart": "arc",
            },
        ),
    )
    register(
        "performance",
        "orders",
        "Orders",
        figures=("revenue", "orders", "average_order_value"),
    )
