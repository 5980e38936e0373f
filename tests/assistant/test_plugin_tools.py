"""The offline planner over the orders and customers plugins' real tools (the issue's questions)."""

from __future__ import annotations

import pytest

from assistant.providers.offline import extract_arguments, rank_tools

orders_tools = pytest.importorskip("plugins.orders.tools")
customers_tools = pytest.importorskip("plugins.customers.tools")

TOOLS = [
    orders_tools.get_order,
    orders_tools.search_orders,
    orders_tools.order_stats,
    orders_tools.top_products,
    orders_tools.product_stock,
    customers_tools.find_customer,
    customers_tools.customer_profile,
    customers_tools.high_risk_customers,
    customers_tools.explain_risk,
]


@pytest.mark.parametrize(
    ("question", "tool", "arguments"),
    [
        ("how many orders did we get in the last 7 days?", "order_stats", {"days": 7}),
        ("what is the status of order 1042?", "get_order", {"order": "1042"}),
        ("which customers are most likely to churn?", "high_risk_customers", {}),
        ("is SKU CAF-001 in stock?", "product_stock", {"product": "CAF-001"}),
        ("find the customer anna@example.com", "find_customer", {"query": "anna@example.com"}),
    ],
)
def test_issue_questions_pick_the_right_tool(question, tool, arguments):
    best = rank_tools(question, TOOLS)[0][0]
    assert best == tool
    chosen = next(t for t in TOOLS if t.name == tool)
    assert extract_arguments(chosen, question) == arguments
