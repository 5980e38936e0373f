"""Demo data: a café-deli catalog and a year of orders with a weekly rhythm for the customers."""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from core.context import Context
from core.db import utcnow
from plugins.customers import services as customer_services
from plugins.orders.importing import NewOrder, bulk_insert_orders
from plugins.orders.models import Product, ProductCategory
from plugins.orders.services import ItemLine

# category -> (name, sku, price, popularity)
CATALOG = {
    "Coffee": [
        ("Espresso Beans 1kg", "COF-001", "24.90", 6),
        ("House Blend 500g", "COF-002", "13.50", 9),
        ("Decaf Blend 500g", "COF-003", "14.20", 2),
        ("Cold Brew Bottle", "COF-004", "4.80", 7),
    ],
    "Bakery": [
        ("Butter Croissant", "BAK-001", "2.40", 12),
        ("Sourdough Loaf", "BAK-002", "5.90", 8),
        ("Cinnamon Roll", "BAK-003", "3.20", 9),
        ("Pistachio Cake", "BAK-004", "28.00", 1),
    ],
    "Dairy": [
        ("Oat Milk 1L", "DAI-001", "2.99", 8),
        ("Whole Milk 1L", "DAI-002", "1.49", 6),
        ("Greek Yogurt", "DAI-003", "3.75", 4),
    ],
    "Merch": [
        ("Ceramic Mug", "MER-001", "12.00", 2),
        ("Travel Tumbler", "MER-002", "22.50", 2),
        ("Gift Card 50", "MER-003", "50.00", 1),
        ("Limited Edition Grinder", "MER-004", "89.00", 1),
    ],
}
SOLD_OUT = ("BAK-004", "MER-004", "COF-004")
"""Products whose stock the demo year leaves at zero."""
WEEKDAY_RHYTHM = (0.7, 0.8, 0.9, 1.0, 1.3, 1.7, 1.2)  # Monday .. Sunday
ORDERS_PER_DAY = 9
WALK_IN_SHARE = 0.15


def load_demo_orders(session: Session, project_id: uuid.UUID) -> None:
    """A catalog, then about 3,500 orders over the past year (order 1042 among them)."""
    rng = random.Random(1042)
    products = _catalog(session, project_id)
    ctx = Context(project_id=project_id, permissions=frozenset())
    customers = session.scalars(customer_services.list_customers(ctx, {})).all()
    weights = [popularity for _, popularity in products]
    now = utcnow()
    start = (now - timedelta(days=365)).replace(hour=0, minute=0, second=0, microsecond=0)
    orders: list[NewOrder] = []
    sold: dict[uuid.UUID, int] = {}
    for day in range(366):
        date = start + timedelta(days=day)
        growth = 0.8 + 0.4 * day / 365
        season = 1 + 0.15 * math.sin(2 * math.pi * (date.timetuple().tm_yday - 80) / 365)
        for _ in range(
            _poisson(rng, ORDERS_PER_DAY * WEEKDAY_RHYTHM[date.weekday()] * growth * season)
        ):
            moment = date + timedelta(minutes=rng.randint(7 * 60, 21 * 60))
            if moment > now:
                continue
            lines = []
            for product, _ in _distinct(
                rng.choices(products, weights=weights, k=rng.randint(1, 4))
            ):
                quantity = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
                sold[product.id] = sold.get(product.id, 0) + quantity
                lines.append(
                    ItemLine(product.name, quantity, product.price, product.id, product.sku)
                )
            customer = rng.choice(customers) if customers and rng.random() > WALK_IN_SHARE else None
            orders.append(_demo_order(rng, now, moment, lines, customer))
    orders.sort(key=lambda order: order.order_date)
    bulk_insert_orders(session, project_id, orders)
    for product, _ in products:
        product.stock = 0 if product.sku in SOLD_OUT else rng.randint(4, 120)
    session.flush()


def _catalog(session: Session, project_id: uuid.UUID) -> list[tuple[Product, int]]:
    products = []
    for category_name, items in CATALOG.items():
        category = ProductCategory(project_id=project_id, name=category_name, description="")
        session.add(category)
        session.flush()
        for name, sku, price, popularity in items:
            product = Product(
                project_id=project_id,
                category_id=category.id,
                name=name,
                sku=sku,
                price=Decimal(price),
                stock=0,
            )
            session.add(product)
            products.append((product, popularity))
    session.flush()
    return products


def _demo_order(
    rng: random.Random, now: datetime, moment: datetime, lines: list[ItemLine], customer
) -> NewOrder:
    age = now - moment
    if age < timedelta(hours=6):
        status = "pending"
    elif age < timedelta(days=2):
        status = rng.choice(("paid", "paid", "fulfilled"))
    else:
        status = rng.choices(("fulfilled", "cancelled", "refunded"), weights=(92, 5, 3))[0]
    return NewOrder(
        order_date=moment.astimezone(UTC),
        lines=lines,
        status=status,
        provider=rng.choices(("pos", "shopify", "manual"), weights=(6, 3, 1))[0],
        customer_id=customer.id if customer else None,
        customer_name=customer.name if customer else None,
        customer_email=customer.email if customer else None,
        customer_phone=customer.phone if customer else None,
        fulfilled_date=moment + timedelta(minutes=rng.randint(5, 90))
        if status in ("fulfilled", "refunded")
        else None,
    )


def _distinct(chosen: list[tuple[Product, int]]) -> list[tuple[Product, int]]:
    return list({product.id: (product, weight) for product, weight in chosen}.values())


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small daily means used here."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
