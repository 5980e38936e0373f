"""The one place where messages meets the customers and orders plugins.

Webhooks and syncs upsert orders by their provider's id and link every message to a
customer (found or created by email, phone or Telegram chat) and to that customer's latest
order, through those plugins' public service functions.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Context
from core.db import scoped
from core.errors import Conflict, Invalid, NotFound
from plugins.customers import services as customer_services
from plugins.customers.models import Customer
from plugins.orders import services as order_services
from plugins.orders.models import ALLOWED_TRANSITIONS, Order
from plugins.orders.schemas import parse_currency


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _price(value: Any) -> Decimal:
    """A provider's price; one that is not a non-negative number fails the delivery (shown on
    it) rather than being stored as some other amount."""
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        price = Decimal("NaN")
    if not price.is_finite() or price < 0:
        raise Invalid(f"price {value!r} is not a non-negative number")
    return price


def _currency(value: Any) -> str:
    try:
        return parse_currency(str(value or "USD"))
    except ValidationError as error:
        raise Invalid(f"currency: {error.messages[0]}") from None


def find_customer(session: Session, ctx: Context, customer_id: uuid.UUID) -> Customer | None:
    try:
        return customer_services.get_customer(session, ctx, customer_id)
    except NotFound:
        return None


def _find_or_create(session: Session, ctx: Context, **identities: Any) -> Customer:
    """``find_or_create_customer``, dropping a phone the customers plugin finds unusable."""
    try:
        return customer_services.find_or_create_customer(session, ctx.project_id, **identities)
    except Invalid as error:
        if "phone" not in (error.errors or {}) or not identities.get("phone"):
            raise
    return customer_services.find_or_create_customer(
        session, ctx.project_id, **{**identities, "phone": None}
    )


def customer_for_order(session: Session, ctx: Context, data: dict[str, Any]) -> Customer | None:
    """The order's customer, by Shopify id, email or phone; created if new."""
    if not (data.get("external_id") or data.get("email") or data.get("phone")):
        return None
    channel = (
        {"channel": "shopify", "identity": data["external_id"]} if data.get("external_id") else {}
    )
    return _find_or_create(
        session,
        ctx,
        name=data.get("name"),
        email=data.get("email"),
        phone=data.get("phone"),
        **channel,
    )


def upsert_external_order(
    session: Session, ctx: Context, provider: str, data: dict[str, Any]
) -> tuple[Order, bool]:
    """Create the order the first time its ``external_id`` is seen, else move its status.

    A status change the orders plugin does not allow (say, back from cancelled) is left as it
    is: the order keeps its last legal state. Returns (order, created).
    """
    existing = session.scalar(
        scoped(Order, ctx.project_id).where(
            Order.provider == provider, Order.external_id == data["external_id"]
        )
    )
    if existing is not None:
        if (
            data["status"] != existing.status
            and data["status"] in ALLOWED_TRANSITIONS[existing.status]
        ):
            order_services.update_order(session, ctx, existing.id, {"status": data["status"]})
        return existing, False
    customer = customer_for_order(session, ctx, data.get("customer") or {})
    order_data: dict[str, Any] = {
        "provider": provider,
        "external_id": data["external_id"],
        "status": data["status"],
        "currency": _currency(data.get("currency")),
        "order_date": _moment(data.get("order_date")),
        "items": [
            {
                "name": item["name"],
                "quantity": max(1, int(item["quantity"])),
                "unit_price": _price(item["price"]),
                **({"sku": item["sku"]} if item.get("sku") else {}),
            }
            for item in data.get("items") or []
        ],
    }
    if customer is not None:
        order_data["customer_id"] = customer.id
    try:
        return order_services.create_order(session, ctx, order_data), True
    except Conflict:
        # A concurrent delivery of the same order won the insert; use its row.
        order = session.scalar(
            scoped(Order, ctx.project_id).where(
                Order.provider == provider, Order.external_id == data["external_id"]
            )
        )
        if order is None:
            raise
        return order, False


def customer_for_sender(
    session: Session, ctx: Context, provider: str, sender: dict[str, Any]
) -> Customer:
    """The customer writing from this WhatsApp phone or Telegram chat; created if new."""
    if sender.get("chat_id"):
        return _find_or_create(
            session, ctx, name=sender.get("name"), channel=provider, identity=str(sender["chat_id"])
        )
    phone = sender["phone"]
    return _find_or_create(
        session, ctx, name=sender.get("name"), phone=phone, channel=provider, identity=phone
    )


def latest_order_id(session: Session, ctx: Context, customer_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(
        select(Order.id)
        .where(Order.project_id == ctx.project_id, Order.customer_id == customer_id)
        .order_by(Order.order_date.desc())
        .limit(1)
    )


def get_order(session: Session, ctx: Context, order_id: uuid.UUID) -> Order:
    return order_services.get_order(session, ctx, order_id)


def recipient_of(customer: Customer, provider: str) -> dict[str, Any]:
    """How to reach a customer on ``provider``: a phone (WhatsApp) or a chat id (Telegram)."""
    if provider == "telegram":
        return {"chat_id": customer.telegram_chat_id, "name": customer.name}
    return {"phone": customer.whatsapp_phone or customer.phone, "name": customer.name}
