"""Finding products and orders from what a person types.

Products: an id, a SKU (any case) or a name (any case, typos, numbers kept). Orders: an id
(a UUID is only ever matched exactly, never read as an order number), an order number ("1042",
"#1042", "order 1042"), a provider's order reference, or the customer's email, phone or name
(their orders, newest first). An ambiguous reference gives the candidates, never a guess."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from core.context import Context
from core.lookup import (
    MAX_CANDIDATES,
    Lookup,
    checked_query,
    email_in,
    found,
    is_phone,
    match_names,
    phone_digits,
    same_phone,
    uuid_in,
)
from plugins.orders.models import Order, Product

ORDER_NUMBER_RE = re.compile(r"^(?:order\s*)?(?:no\.?\s*|number\s*)?#?\s*(\d{1,9})$", re.I)


def find_products(session: Session, ctx: Context, text: str) -> Lookup[Product]:
    """The catalog product ``text`` names in the caller's project (deleted ones excluded)."""
    query = checked_query(text, "product", "Say which product")
    products = select(Product).where(
        Product.project_id == ctx.project_id, Product.deleted_at.is_(None)
    )
    product_id = uuid_in(query)
    if product_id is not None:
        return found(query, list(session.scalars(products.where(Product.id == product_id))))
    by_sku = list(session.scalars(products.where(func.lower(Product.sku) == query.lower())))
    if by_sku:
        return found(query, by_sku)
    names = dict(session.execute(products.with_only_columns(Product.id, Product.name)).all())
    match, candidates = match_names(query, names)
    rows = {row.id: row for row in session.scalars(products.where(Product.id.in_(candidates)))}
    chosen = tuple(rows[key] for key in candidates if key in rows)
    return Lookup(query, rows.get(match) if match is not None else None, chosen)


def find_orders(session: Session, ctx: Context, text: str) -> Lookup[Order]:
    """The order ``text`` names in the caller's project, or the orders of the customer it names."""
    query = checked_query(text, "order", "Say which order")
    orders = (
        select(Order)
        .where(Order.project_id == ctx.project_id, Order.deleted_at.is_(None))
        .options(selectinload(Order.items))
    )
    order_id = uuid_in(query)
    if order_id is not None:
        return found(query, list(session.scalars(orders.where(Order.id == order_id))))
    number = ORDER_NUMBER_RE.match(query)
    if number is not None:
        return found(query, list(session.scalars(orders.where(Order.number == int(number[1])))))
    by_reference = list(session.scalars(orders.where(Order.external_id == query)))
    if by_reference:
        return found(query, by_reference)
    newest = orders.order_by(Order.order_date.desc(), Order.number.desc())
    email = email_in(query)
    if email is not None:
        return found(
            query,
            list(session.scalars(newest.where(func.lower(Order.customer_email) == email))),
        )
    if is_phone(query):
        tail = phone_digits(query)[-4:]
        candidates = session.scalars(newest.where(Order.customer_phone.contains(tail)))
        return found(query, [o for o in candidates if same_phone(query, o.customer_phone)])
    return _by_customer_name(session, query, newest)


def _by_customer_name(session: Session, query: str, newest: Select) -> Lookup[Order]:
    names = session.scalars(
        newest.with_only_columns(Order.customer_name)
        .where(Order.customer_name.is_not(None))
        .order_by(None)
        .distinct()
    )
    match, candidates = match_names(query, {name: name for name in names})
    if match is not None:
        return found(query, _orders_of(session, newest, [match], MAX_CANDIDATES))
    return Lookup(query, None, tuple(_orders_of(session, newest, candidates, 1)))


def _orders_of(
    session: Session, newest: Select, customer_names: Sequence[str], per_customer: int
) -> list[Order]:
    chosen: list[Order] = []
    for name in customer_names:
        chosen += session.scalars(newest.where(Order.customer_name == name).limit(per_customer))
    return chosen
