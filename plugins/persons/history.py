"""What persons did at the tables: their carts (orders of the orders plugin with ``person_id``
and ``table_number``), order history, summary figures, and the regulars of a table."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.context import Context
from core.errors import Invalid
from plugins.orders import carts
from plugins.orders.models import Order
from plugins.persons.models import Person, Visit
from plugins.persons.services import get_person, person_fields

FAVORITE_DISHES = 5
REGULARS = 3


def check_order_person(session: Session, order: Order) -> None:
    """Hook ``check_order``: an order's ``person_id`` must be a person of the order's project
    (422 naming ``person_id`` otherwise); orders without one are not concerned."""
    if order.person_id is None:
        return
    project_id = session.scalar(select(Person.project_id).where(Person.id == order.person_id))
    if project_id != order.project_id:
        raise Invalid(errors={"person_id": [f"Unknown person {order.person_id}"]})


def person_detail(session: Session, ctx: Context, person_id: uuid.UUID) -> dict[str, Any]:
    """Seed 004's person detail: the person with their carts and the products in them (the
    carts only for callers who may see orders)."""
    person = get_person(session, ctx, person_id)
    detail = person_fields(person)
    if ctx.can("view_order"):
        detail["carts"] = [
            {
                "id": cart.id,
                "table_number": cart.table_number,
                "created_at": cart.created_at,
                "updated_at": cart.updated_at,
                "products": [
                    {
                        "id": item.id,
                        "product_id": item.product_id,
                        "name": item.name,
                        "quantity": item.quantity,
                        "created_at": item.created_at,
                    }
                    for item in cart.items
                ],
            }
            for cart in carts.person_carts(session, ctx, person.id)
        ]
    return detail


def person_orders(session: Session, ctx: Context, person_id: uuid.UUID) -> dict[str, Any]:
    """Seed 004's order history: the person's carts with their products."""
    person = get_person(session, ctx, person_id)
    history = carts.person_carts(session, ctx, person.id)
    return {
        "person_id": person.id,
        "person_name": person.full_name,
        "total_orders": len(history),
        "orders": [
            {
                "cart_id": cart.id,
                "table_number": cart.table_number,
                "cart_created_at": cart.created_at,
                "cart_updated_at": cart.updated_at,
                "products": [
                    {
                        "product_id": item.product_id,
                        "product_name": item.name,
                        "quantity": item.quantity,
                        "added_at": item.created_at,
                    }
                    for item in cart.items
                ],
                "total_products": sum(item.quantity for item in cart.items),
            }
            for cart in history
        ],
    }


def person_figures(session: Session, ctx: Context, person: Person) -> dict[str, Any]:
    """The summary's figures: visits, favorite table (most carts; the lower number on a tie),
    favorite dishes (most units ordered), last visit, items and carts."""
    visits, first_visit, last_visit = session.execute(
        select(func.count(), func.min(Visit.entry_time), func.max(Visit.entry_time)).where(
            Visit.person_id == person.id
        )
    ).one()
    history = carts.person_carts(session, ctx, person.id)
    tables = Counter(cart.table_number for cart in history if cart.table_number is not None)
    dishes: Counter[str] = Counter()
    for cart in history:
        for item in cart.items:
            dishes[item.name] += item.quantity
    favorite_table = min(tables, key=lambda table: (-tables[table], table)) if tables else None
    ranked = sorted(dishes.items(), key=lambda pair: (-pair[1], pair[0]))[:FAVORITE_DISHES]
    return {
        "person_id": person.id,
        "person_name": person.full_name,
        "total_visits": visits,
        "first_visit": first_visit,
        "last_visit": last_visit,
        "favorite_table": favorite_table,
        "carts_at_favorite_table": tables[favorite_table] if tables else 0,
        "total_carts": len(history),
        "favorite_dishes": [{"dish": dish, "count": count} for dish, count in ranked],
        "total_spent_items": sum(dishes.values()),
    }


def table_regulars(
    session: Session, ctx: Context, table_number: int, limit: int = REGULARS
) -> list[dict[str, Any]]:
    """The persons who sat at ``table_number`` most often (by carts there), with their
    figures: "who is this regular at table 5?"."""
    rows = session.execute(
        select(Order.person_id, func.count())
        .where(
            Order.project_id == ctx.project_id,
            Order.table_number == table_number,
            Order.person_id.is_not(None),
        )
        .group_by(Order.person_id)
        .order_by(func.count().desc(), Order.person_id)
        .limit(limit)
    ).all()
    regulars = []
    for person_id, count in rows:
        person = session.get(Person, person_id)
        if person is None:  # erased since: their carts stay, unlinked from anyone
            continue
        figures = person_figures(session, ctx, person)
        regulars.append({**person_fields(person), "carts_at_table": count, **_brief(figures)})
    return regulars


def _brief(figures: dict[str, Any]) -> dict[str, Any]:
    return {
        name: figures[name]
        for name in ("total_visits", "last_visit", "favorite_table", "favorite_dishes")
    }
