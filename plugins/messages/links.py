"""The one place where messages meets the customers and orders plugins.

Webhooks and syncs upsert orders by their provider's id and link every message to a
customer (found or created by email, phone or Telegram chat) and to that customer's latest
order, through those plugins' public service functions.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Context
from core.db import scoped
from core.errors import Invalid, NotFound
from plugins.customers import services as customer_services
from plugins.customers.models import Customer
from plugins.orders import external
from plugins.orders import services as order_services
from plugins.orders.models import Order
from plugins.orders.schemas import MAX_MONEY, MAX_QUANTITY, parse_currency


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _price(value: Any) -> Decimal:
    """A provider's amount; one that is not a number from 0 to ``MAX_MONEY`` fails the
    delivery (shown on it) rather than being stored as some other amount."""
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        price = Decimal("NaN")
    if not price.is_finite() or not 0 <= price <= MAX_MONEY:
        raise Invalid(f"amount {value!r} is not a number from 0 to {MAX_MONEY}")
    return price


def _optional_price(value: Any) -> Decimal | None:
    return None if value is None or value == "" else _price(value)


def _quantity(value: Any) -> int:
    """A provider's line quantity; one that is not a whole number from 1 to ``MAX_QUANTITY``
    fails the delivery (shown on it) rather than being stored as some other count."""
    try:
        quantity = int(value) if isinstance(value, int | str) and not isinstance(value, bool) else 0
    except ValueError:
        quantity = 0
    if not 1 <= quantity <= MAX_QUANTITY:
        raise Invalid(f"quantity {value!r} is not a whole number from 1 to {MAX_QUANTITY}")
    return quantity


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
    """Apply an ``order_upsert``: store the provider's order as it now is, or mark it deleted
    (``deleted``). Amounts that are not numbers fail the delivery (shown on it) rather than
    being stored as others. Returns (order, created)."""
    if data.get("deleted"):
        return external.delete_provider_order(session, ctx, provider, data["external_id"]), False
    currency = _currency(data.get("currency"))
    incoming = external.ProviderOrder(
        external_id=data["external_id"],
        status=data["status"],
        currency=currency,
        total=_price(data.get("total")),
        is_test=data.get("test") is True,
        subtotal=_optional_price(data.get("subtotal")),
        tax=_optional_price(data.get("tax")),
        shipping=_optional_price(data.get("shipping")),
        discounts=_optional_price(data.get("discounts")),
        refunded=_optional_price(data.get("refunded")) or Decimal("0"),
        order_date=_moment(data.get("order_date")),
        updated_at=_moment(data.get("updated_at")),
        fulfilled_at=_moment(data.get("fulfilled_at")),
        items=[
            external.ProviderLine(
                name=str(item["name"])[:200],
                sku=str(item["sku"])[:64] if item.get("sku") else None,
                quantity=_quantity(item.get("quantity")),
                unit_price=_price(item["price"]),
            )
            for item in data.get("items") or []
        ],
    )
    presentment = data.get("presentment")
    if presentment:
        incoming.presentment_currency = _currency(presentment.get("currency"))
        incoming.presentment_total = _price(presentment.get("total"))
    existing = external.find_provider_order(session, ctx, provider, incoming.external_id)
    if existing is None:
        customer = customer_for_order(session, ctx, data.get("customer") or {})
        incoming.customer_id = customer.id if customer is not None else None
    return external.upsert_provider_order(session, ctx, provider, incoming)


def customer_for_sender(
    session: Session, ctx: Context, provider: str, sender: dict[str, Any]
) -> Customer | None:
    """The customer writing from this WhatsApp phone or Telegram user (in a private chat the
    chat id is the user's id); created if new. None for a sender without an identity (a
    group's anonymous admin)."""
    identity = sender.get("chat_id") or sender.get("user_id")
    if identity:
        return _find_or_create(
            session, ctx, name=sender.get("name"), channel=provider, identity=str(identity)
        )
    phone = sender.get("phone")
    if not phone:
        return None
    return _find_or_create(
        session, ctx, name=sender.get("name"), phone=phone, channel=provider, identity=phone
    )


def change_channel_identity(
    session: Session, ctx: Context, provider: str, old: dict[str, Any], new: dict[str, Any]
) -> Customer | None:
    """Move the customer known by ``old`` (a WhatsApp phone) to ``new``; their phone follows
    when it was that number. None when nobody had ``old``; ``Conflict`` when another customer
    already has ``new``."""
    old_phone, new_phone = old.get("phone"), new.get("phone")
    if provider != "whatsapp" or not old_phone or not new_phone:
        return None
    customer = session.scalar(
        scoped(Customer, ctx.project_id)
        .where((Customer.whatsapp_phone == old_phone) | (Customer.phone == old_phone))
        .limit(1)
    )
    if customer is None:
        return None
    changes = {"whatsapp_phone": new_phone}
    if customer.phone == old_phone:
        changes["phone"] = new_phone
    return customer_services.update_customer(session, ctx, customer.id, changes)


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
