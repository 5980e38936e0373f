"""The memberships plugin's metrics: new memberships, active members by tier, and revenue of
orders placed on a membership against the rest.

Revenue counts what the orders plugin's ``revenue`` counts (net of refunds, without cancelled,
refunded or test orders); an order is a member's when it carries a ``membership_id``, which
the order check keeps to the order's customer and date (an order whose membership was deleted
counts as a non-member's).
"""

from __future__ import annotations

from sqlalchemy import and_

from core.metrics import PROJECT_TODAY, Dimension, Metric
from plugins.memberships.models import Membership
from plugins.orders.metrics import brings_revenue, net_total, orders

memberships = Membership.__table__
orders_with_memberships = orders.outerjoin(
    memberships,
    and_(
        memberships.c.id == orders.c.membership_id,
        memberships.c.project_id == orders.c.project_id,
    ),
)
active_today = and_(
    memberships.c.start_period <= PROJECT_TODAY,
    memberships.c.end_period >= PROJECT_TODAY,
)

MEMBERSHIP_SOURCE = {
    "permission": "view_memberships",
    "source": memberships,
    "project_column": memberships.c.project_id,
    "dimensions": (
        Dimension("tier", "Membership tier", memberships.c.tier, words=("level", "membership")),
    ),
}
REVENUE_SOURCE = {
    "permission": "view_order",
    "source": orders_with_memberships,
    "project_column": orders.c.project_id,
    "time_column": orders.c.order_date,
    "unit": "money",
    "measure": "sum",
    "expression": net_total,
}

METRICS = (
    Metric(
        name="new_memberships",
        label="New memberships",
        unit="count",
        measure="count",
        time_column=memberships.c.created_at,
        description="Memberships added in the period; by tier",
        words=("new memberships", "memberships sold", "new members", "joined the club"),
        examples=("How many memberships did we sell this month?",),
        **MEMBERSHIP_SOURCE,
    ),
    Metric(
        name="active_members",
        label="Active members",
        unit="count",
        measure="count",
        condition=active_today,
        description="Customers whose membership runs today; by tier",
        words=("active members", "members", "membership holders", "loyalty members"),
        examples=("Active members by tier",),
        **MEMBERSHIP_SOURCE,
    ),
    Metric(
        name="member_revenue",
        label="Member revenue",
        condition=and_(brings_revenue, memberships.c.id.is_not(None)),
        description="Revenue of orders placed on a membership; by membership tier",
        words=("member revenue", "revenue from members", "member sales"),
        dimensions=(
            Dimension("membership_tier", "Membership tier", memberships.c.tier, words=("tier",)),
        ),
        **REVENUE_SOURCE,
    ),
    Metric(
        name="non_member_revenue",
        label="Non-member revenue",
        condition=and_(brings_revenue, memberships.c.id.is_(None)),
        description="Revenue of orders placed without a membership",
        words=("non-member revenue", "revenue from non-members", "guest sales"),
        **REVENUE_SOURCE,
    ),
)
