"""The orders plugin's metrics: orders, revenue, average order value, items sold, products,
cancellations and refunds, over ``orders`` and ``order_items``.

They count what the plugin's other figures count: test orders and orders deleted at their
provider nowhere, revenue net of refunds. Amounts in several currencies are never added by
the database for you: group or filter money metrics by ``currency`` in a multi-currency shop.
"""

from __future__ import annotations

from sqlalchemy import and_, case, or_, type_coerce

from core.db import Money
from core.metrics import Dimension, Metric
from plugins.orders.models import (
    NON_REVENUE_STATUSES,
    ORDER_STATUSES,
    Order,
    OrderItem,
    Product,
    ProductCategory,
    counted_in_figures,
)

orders = Order.__table__
items = OrderItem.__table__
products = Product.__table__
categories = ProductCategory.__table__
sold_items = (
    items.join(orders, items.c.order_id == orders.c.id)
    .outerjoin(products, items.c.product_id == products.c.id)
    .outerjoin(categories, products.c.category_id == categories.c.id)
)
counted = and_(*counted_in_figures())
brings_revenue = and_(counted, orders.c.status.not_in(NON_REVENUE_STATUSES))
net_total = type_coerce(orders.c.total - orders.c.refunded, Money())
is_refunded = or_(orders.c.status == "refunded", orders.c.refunded > 0)
refunded_amount = type_coerce(
    case((orders.c.status == "refunded", orders.c.total), else_=orders.c.refunded), Money()
)

ORDER_DIMENSIONS = (
    Dimension("status", "Status", orders.c.status, values=ORDER_STATUSES, words=("state",)),
    Dimension("provider", "Provider", orders.c.provider, words=("channel", "source", "shop")),
    Dimension("customer", "Customer", orders.c.customer_name, words=("buyer", "client")),
    Dimension("currency", "Currency", orders.c.currency),
)
ITEM_DIMENSIONS = (
    *ORDER_DIMENSIONS,
    Dimension("product", "Product", items.c.name, words=("item", "article")),
    Dimension("category", "Category", categories.c.name, words=("product category",)),
)
ORDER_SOURCE = {
    "permission": "view_order",
    "source": orders,
    "project_column": orders.c.project_id,
    "time_column": orders.c.order_date,
    "dimensions": ORDER_DIMENSIONS,
}
ITEM_SOURCE = {**ORDER_SOURCE, "source": sold_items, "dimensions": ITEM_DIMENSIONS}

METRICS = (
    Metric(
        name="orders",
        label="Orders",
        unit="count",
        measure="count",
        condition=counted,
        description="Orders placed, in every status",
        words=("orders", "number of orders", "transactions", "purchases", "carts"),
        examples=("How many orders did we get yesterday?",),
        **ORDER_SOURCE,
    ),
    Metric(
        name="paid_orders",
        label="Orders with revenue",
        unit="count",
        measure="count",
        condition=brings_revenue,
        description="Orders that bring revenue: all but cancelled and refunded ones",
        words=("paying orders", "sales count"),
        **ORDER_SOURCE,
    ),
    Metric(
        name="revenue",
        label="Revenue",
        unit="money",
        measure="sum",
        expression=net_total,
        condition=brings_revenue,
        description="Order totals net of refunds, leaving out cancelled and refunded orders",
        words=("revenue", "sales", "turnover", "income", "takings", "earned", "sold for"),
        examples=("What was revenue last month?", "Revenue by day this week vs last week"),
        **ORDER_SOURCE,
    ),
    Metric(
        name="average_order_value",
        label="Average order value",
        unit="money",
        measure="ratio",
        numerator="revenue",
        denominator="paid_orders",
        description="Revenue per order that brings revenue",
        words=(
            "average order value",
            "aov",
            "average basket",
            "average ticket",
            "avg order",
            "average spend",
            "spend per order",
        ),
        examples=("What is our average order value this month?",),
        **ORDER_SOURCE,
    ),
    Metric(
        name="largest_order",
        label="Largest order",
        unit="money",
        measure="max",
        expression=orders.c.total,
        condition=brings_revenue,
        description="The biggest order total that brings revenue",
        words=("biggest order", "largest order", "highest order"),
        **ORDER_SOURCE,
    ),
    Metric(
        name="cancelled_orders",
        label="Cancelled orders",
        unit="count",
        measure="count",
        condition=and_(counted, orders.c.status == "cancelled"),
        words=("cancellations", "cancelled orders", "canceled"),
        **ORDER_SOURCE,
    ),
    Metric(
        name="cancelled_amount",
        label="Cancelled amount",
        unit="money",
        measure="sum",
        expression=orders.c.total,
        condition=and_(counted, orders.c.status == "cancelled"),
        words=("value of cancellations", "cancelled value"),
        **ORDER_SOURCE,
    ),
    Metric(
        name="refunded_orders",
        label="Refunded orders",
        unit="count",
        measure="count",
        condition=and_(counted, is_refunded),
        description="Orders refunded in full or in part",
        words=("refunds", "refunded orders", "returns"),
        **ORDER_SOURCE,
    ),
    Metric(
        name="refunded_amount",
        label="Refunded amount",
        unit="money",
        measure="sum",
        expression=refunded_amount,
        condition=and_(counted, is_refunded),
        description="Money given back: whole refunded orders and partial refunds",
        words=("refunded money", "amount refunded", "refund value"),
        **ORDER_SOURCE,
    ),
    Metric(
        name="items_sold",
        label="Items sold",
        unit="count",
        measure="sum",
        expression=items.c.quantity,
        condition=brings_revenue,
        description="Units on orders that bring revenue",
        words=("items sold", "units sold", "quantity sold", "pieces"),
        examples=("Which product sold the most units last week?",),
        **ITEM_SOURCE,
    ),
    Metric(
        name="product_revenue",
        label="Revenue from items",
        unit="money",
        measure="sum",
        expression=items.c.line_total,
        condition=brings_revenue,
        description="Line totals of orders that bring revenue; by product or category",
        words=("product revenue", "sales by product", "best seller", "top products"),
        examples=("Which product brought in the most revenue this month?",),
        **ITEM_SOURCE,
    ),
    Metric(
        name="orders_with_product",
        label="Orders containing",
        unit="count",
        measure="count_distinct",
        expression=orders.c.id,
        condition=counted,
        description="Orders holding at least one matching item; by product or category",
        words=("orders with", "orders containing", "how often ordered"),
        **ITEM_SOURCE,
    ),
    Metric(
        name="paid_orders_with_product",
        label="Revenue orders containing",
        unit="count",
        measure="count_distinct",
        expression=orders.c.id,
        condition=brings_revenue,
        description="Orders that bring revenue holding at least one matching item; by product "
        "or category",
        **ITEM_SOURCE,
    ),
)
