"""The offline planner over the orders and customers plugins' real tools, asked in words that
are none of the tools' declared examples (``test_questions_are_new.py`` checks it)."""

from __future__ import annotations

import pytest

from assistant.planner.route import extract_arguments, rank_tools
from plugins.customers import tools as customers_tools
from plugins.orders import tools as orders_tools

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


def plan(question: str) -> tuple[str, dict]:
    """The tool the planner ranks first for ``question`` and the arguments it reads from it."""
    best = rank_tools(question, TOOLS)[0][0]
    chosen = next(t for t in TOOLS if t.name == best)
    return best, extract_arguments(chosen, question)


@pytest.mark.parametrize(
    ("question", "tool", "arguments"),
    [
        ("has order 2210 been shipped yet", "get_order", {"order": "2210"}),
        ("can you pull up order number 318 for me", "get_order", {"order": "318"}),
        ("how many sales came in during the past 14 days", "order_stats", {"days": 14}),
        ("average basket size over the past 60 days", "order_stats", {"days": 60}),
        ("which customers could leave us soon", "high_risk_customers", {}),
        ("do we still have SKU TEA-042 on the shelf", "product_stock", {"product": "TEA-042"}),
        ("any Green Tea left in the storeroom", "product_stock", {"product": "Green Tea"}),
        (
            "look up the customer with email bruno@example.org",
            "find_customer",
            {"query": "bruno@example.org"},
        ),
        ("which products sold best over the past 2 weeks", "top_products", {"days": 14}),
    ],
)
def test_new_phrasings_pick_the_right_tool_and_arguments(question, tool, arguments):
    assert plan(question) == (tool, arguments)


@pytest.mark.parametrize(
    ("question", "tool", "arguments"),
    [
        ("total revenue over the last 3 days", "order_stats", {"days": 3}),
        ("give me the 3 riskiest customers", "high_risk_customers", {"limit": 3}),
        ("search for a client named Okafor", "find_customer", {"query": "Okafor"}),
        (
            "show pending orders from the last 10 days",
            "search_orders",
            {"status": "pending", "days": 10},
        ),
        ("list the refunded orders", "search_orders", {"status": "refunded"}),
    ],
)
def test_harder_phrasings_pick_the_right_tool_and_arguments(question, tool, arguments):
    assert plan(question) == (tool, arguments)


def test_a_question_no_tool_answers_ranks_nothing_first():
    assert all(score == 0 for _name, score in rank_tools("what's the weather in Lisbon", TOOLS))
