"""Finding customers from what a person types: a name (any case, typos, numbers kept), an
email, a phone number or an id. Tools, other plugins and the planner call :func:`find_customers`
and act on what it returns; an ambiguous name gives the candidates, never a guess."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.context import Context
from core.lookup import (
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
from plugins.customers.models import Customer


def find_customers(session: Session, ctx: Context, text: str) -> Lookup[Customer]:
    """The customer ``text`` names in the caller's project (see the module docstring)."""
    query = checked_query(text, "customer", "Say which customer: a name, email, phone or id")
    project_customers = select(Customer).where(Customer.project_id == ctx.project_id)
    customer_id = uuid_in(query)
    if customer_id is not None:
        exact = session.scalars(project_customers.where(Customer.id == customer_id))
        return found(query, list(exact))
    email = email_in(query)
    if email is not None:
        exact = list(session.scalars(project_customers.where(func.lower(Customer.email) == email)))
        return found(query, exact) if exact else _by_name(session, ctx, query, Customer.email)
    if is_phone(query):
        tail = phone_digits(query)[-4:]
        numbers = session.scalars(
            project_customers.where(
                or_(Customer.phone.contains(tail), Customer.whatsapp_phone.contains(tail))
            )
        )
        return found(
            query,
            [
                customer
                for customer in numbers
                if same_phone(query, customer.phone) or same_phone(query, customer.whatsapp_phone)
            ],
        )
    return _by_name(session, ctx, query, Customer.name)


def _by_name(session: Session, ctx: Context, query: str, column) -> Lookup[Customer]:
    names = dict(
        session.execute(
            select(Customer.id, column).where(
                Customer.project_id == ctx.project_id, column.is_not(None)
            )
        ).all()
    )
    match, candidates = match_names(query, names)
    customers = _in_order(session, ctx, candidates)
    if match is not None:
        return Lookup(query, customers[0], tuple(customers))
    return Lookup(query, None, tuple(customers))


def _in_order(session: Session, ctx: Context, ids: Sequence[uuid.UUID]) -> list[Customer]:
    if not ids:
        return []
    rows = session.scalars(
        select(Customer).where(Customer.project_id == ctx.project_id, Customer.id.in_(ids))
    )
    by_id = {row.id: row for row in rows}
    return [by_id[customer_id] for customer_id in ids if customer_id in by_id]
