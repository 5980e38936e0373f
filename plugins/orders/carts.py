"""Seed 004's carts: a cart is an order with a ``person_id`` and a ``table_number``; its cart
products are order items. Other plugins (``persons``, ``compat``) call these functions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from core.context import Context
from core.db import scoped
from core.errors import Invalid
from plugins.orders import services
from plugins.orders.models import Order, OrderItem, Product

CART_PRODUCTS = "cart_products"


def create_cart(
    session: Session,
    ctx: Context,
    person_id: uuid.UUID,
    table_number: int | None = None,
    items: Sequence[dict[str, Any]] = (),
) -> Order:
    """A pending order for the person at the table, empty or with ``items`` (``ItemInSchema``
    lines). The ``check_order`` hook refuses a person of another project (422)."""
    return services.create_order(
        session,
        ctx,
        {"person_id": person_id, "table_number": table_number, "items": list(items)},
    )


def add_cart_products(
    session: Session, ctx: Context, cart_products: Sequence[dict[str, Any]]
) -> list[OrderItem]:
    """Seed 004's bulk cart products: each ``{"cart": id, "product": id}`` (an optional
    ``organization`` must be this project) adds one unit of a catalog product to a pending
    cart of this project. All of them or none: a 422 names every bad line by its index, a
    cart that is no longer pending is a 409, and nothing is written then.

    Returns the new items in the order of ``cart_products``."""
    carts = _known(session, ctx, Order, {line["cart"] for line in cart_products})
    products = _known(session, ctx, Product, {line["product"] for line in cart_products})
    errors: dict[str, dict[str, list[str]]] = {}
    for index, line in enumerate(cart_products):
        problems = {}
        if line.get("organization", ctx.project_id) != ctx.project_id:
            problems["organization"] = ["Must be this project's id."]
        if line["cart"] not in carts:
            problems["cart"] = [f"Unknown cart {line['cart']}"]
        if line["product"] not in products:
            problems["product"] = [f"Unknown product {line['product']}"]
        if problems:
            errors[str(index)] = problems
    if errors:
        raise Invalid(f"Validation failed for: {CART_PRODUCTS}", errors={CART_PRODUCTS: errors})
    by_cart: dict[uuid.UUID, list[int]] = {}
    for index, line in enumerate(cart_products):
        by_cart.setdefault(line["cart"], []).append(index)
    added: dict[int, OrderItem] = {}
    for cart_id, indexes in by_cart.items():
        items = [{"product_id": cart_products[i]["product"], "quantity": 1} for i in indexes]
        order, count = services.add_items(session, ctx, cart_id, items)
        added.update(zip(indexes, order.items[-count:], strict=True))
    return [added[index] for index in range(len(cart_products))]


def _known(session: Session, ctx: Context, model: Any, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` are rows of ``model`` in this project (catalog products not deleted)."""
    statement = scoped(model, ctx.project_id).where(model.id.in_(ids))
    if model is Product:
        statement = statement.where(Product.deleted_at.is_(None))
    return set(session.scalars(statement.with_only_columns(model.id)))


def cart_products_result(ctx: Context, items: Sequence[OrderItem]) -> dict[str, Any]:
    """Seed 004's answer to the bulk call."""
    return {
        "message": f"Successfully created {len(items)} cart products",
        "created_count": len(items),
        CART_PRODUCTS: [
            {
                "id": item.id,
                "organization": ctx.project_id,
                "cart": item.order_id,
                "product": item.product_id,
                "created_at": item.created_at,
                "updated_at": item.created_at,
            }
            for item in items
        ],
    }


def person_carts(session: Session, ctx: Context, person_id: uuid.UUID) -> list[Order]:
    """The person's carts (orders), oldest first, with their items."""
    return list(
        session.scalars(
            select(Order)
            .where(Order.project_id == ctx.project_id, Order.person_id == person_id)
            .order_by(Order.order_date, Order.number)
            .options(selectinload(Order.items))
        )
    )


def unlink_person(session: Session, ctx: Context, person_id: uuid.UUID) -> None:
    """An erased person's carts stay as orders (they are sales) but name nobody."""
    session.execute(
        update(Order)
        .where(Order.project_id == ctx.project_id, Order.person_id == person_id)
        .values(person_id=None)
    )
