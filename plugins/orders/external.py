"""Orders that happened at a provider (a shop's webhook or sync), stored as the provider says.

Such an order is a fact, not a request: it is stored even when a line's product is short of
stock (the conflict is written on the order and published as ``order.stock_conflict``), its
amounts are the provider's own, and each later version (an edit, a refund, a cancellation,
a deletion) replaces what was stored, unless it is older than the stored one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from core.context import Context
from core.db import scoped, to_money, utcnow
from core.errors import Invalid, NotFound
from core.events import publish
from plugins.orders import services
from plugins.orders.models import ALLOWED_TRANSITIONS, MAX_STOCK_WARNING, Order, Product
from plugins.orders.schemas import MAX_MONEY

ZERO = Decimal("0.00")
FIGURES = (
    "total",
    "subtotal",
    "tax",
    "shipping",
    "discounts",
    "refunded",
    "presentment_currency",
    "presentment_total",
    "is_test",
)
"""The provider's amounts and flags that each new version of an order replaces."""


@dataclass(frozen=True)
class ProviderLine:
    name: str
    sku: str | None
    quantity: int
    unit_price: Decimal


@dataclass
class ProviderOrder:
    """One version of a provider's order, checked: amounts in the shop's ``currency``."""

    external_id: str
    status: str
    currency: str
    total: Decimal
    items: list[ProviderLine] = field(default_factory=list)
    is_test: bool = False
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    shipping: Decimal | None = None
    discounts: Decimal | None = None
    refunded: Decimal = ZERO
    presentment_currency: str | None = None
    presentment_total: Decimal | None = None
    order_date: datetime | None = None
    updated_at: datetime | None = None
    fulfilled_at: datetime | None = None
    customer_id: uuid.UUID | None = None


def find_provider_order(
    session: Session, ctx: Context, provider: str, external_id: str
) -> Order | None:
    return session.scalar(
        scoped(Order, ctx.project_id)
        .where(Order.provider == provider, Order.external_id == external_id)
        .options(selectinload(Order.items))
    )


def upsert_provider_order(
    session: Session, ctx: Context, provider: str, incoming: ProviderOrder
) -> tuple[Order, bool]:
    """Store the order the first time it is seen, else apply this version. Returns
    (order, created)."""
    existing = find_provider_order(session, ctx, provider, incoming.external_id)
    if existing is None:
        try:
            with session.begin_nested():
                return _create(session, ctx, provider, incoming), True
        except IntegrityError:
            # A concurrent delivery of the same order won the insert: apply to its row.
            existing = find_provider_order(session, ctx, provider, incoming.external_id)
            if existing is None:
                raise
    apply_version(session, ctx, existing, incoming)
    return existing, False


def apply_version(session: Session, ctx: Context, order: Order, incoming: ProviderOrder) -> None:
    """Replace lines and amounts by this version's, then move the status if that is a legal
    step. A version older than the stored one, or one of a deleted order, changes nothing."""
    if order.deleted_at is not None or _is_older(incoming, order):
        return
    before = {name: getattr(order, name) for name in FIGURES}
    lines_changed = _line_keys(order.items) != [_line_key(line) for line in incoming.items]
    if lines_changed:
        services.restore_stock(session, order)
        order.items.clear()
        session.flush()
        _set_lines(session, ctx, order, incoming.items, take_stock=order.status != "cancelled")
    _set_figures(order, incoming)
    session.flush()
    changes = {
        name: [value, getattr(order, name)]
        for name, value in before.items()
        if getattr(order, name) != value
    }
    if lines_changed or changes:
        payload = {**services.order_payload(order), "changes": changes}
        publish(
            session, "order.updated", ctx.project_id, {**payload, "items_replaced": lines_changed}
        )
    if lines_changed:
        _publish_stock_conflict(session, ctx, order)
    if incoming.status != order.status and incoming.status in ALLOWED_TRANSITIONS[order.status]:
        step: dict[str, Any] = {"status": incoming.status}
        if incoming.status == "fulfilled":
            step["fulfilled_date"] = incoming.fulfilled_at or utcnow()
        services.update_order(session, ctx, order.id, step)


def delete_provider_order(session: Session, ctx: Context, provider: str, external_id: str) -> Order:
    """Mark the order deleted at its provider: kept, out of every figure, its stock given back.
    An order never seen is ``NotFound``, so the delivery shows it rather than passing silently."""
    order = find_provider_order(session, ctx, provider, external_id)
    if order is None:
        raise NotFound(f"No {provider} order {external_id} to delete")
    if order.deleted_at is None:
        services.restore_stock(session, order)
        order.deleted_at = utcnow()
        session.flush()
        publish(session, "order.deleted", ctx.project_id, services.order_payload(order))
    return order


def _create(session: Session, ctx: Context, provider: str, incoming: ProviderOrder) -> Order:
    customer = services.resolve_customer(session, ctx, {"customer_id": incoming.customer_id})
    order = Order(
        project_id=ctx.project_id,
        number=services.allocate_order_numbers(session, ctx.project_id),
        external_id=incoming.external_id,
        provider=provider,
        status=incoming.status,
        currency=incoming.currency,
        order_date=incoming.order_date or utcnow(),
        fulfilled_date=(incoming.fulfilled_at or utcnow())
        if incoming.status == "fulfilled"
        else None,
        **customer,
    )
    session.add(order)
    _set_lines(session, ctx, order, incoming.items, take_stock=incoming.status != "cancelled")
    _set_figures(order, incoming)
    session.flush()
    publish(session, "order.created", ctx.project_id, services.order_payload(order))
    _publish_stock_conflict(session, ctx, order)
    return order


def _set_lines(
    session: Session, ctx: Context, order: Order, lines: list[ProviderLine], *, take_stock: bool
) -> None:
    """The provider's lines, linked by SKU to the catalog; their stock taken where there is
    enough, the shortages written on the order instead of refusing it. A line total beyond
    what an amount column holds is ``Invalid`` (the delivery fails, shown on it)."""
    item_lines = [
        services.ItemLine(
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            product_id=_product_id(session, ctx, line.sku),
            sku=line.sku,
            stock_taken=take_stock,
        )
        for line in lines
    ]
    for line in item_lines:
        if line.line_total > MAX_MONEY:
            raise Invalid(f"the line {line.name!r} totals more than {MAX_MONEY}")
    shortages = services.take_available_stock(session, ctx, item_lines) if take_stock else []
    order.stock_warning = "; ".join(shortages)[:MAX_STOCK_WARNING] or None
    services.set_items(order, item_lines)


def _publish_stock_conflict(session: Session, ctx: Context, order: Order) -> None:
    if order.stock_warning:
        publish(
            session,
            "order.stock_conflict",
            ctx.project_id,
            {**services.order_payload(order), "warning": order.stock_warning},
        )


def _product_id(session: Session, ctx: Context, sku: str | None) -> uuid.UUID | None:
    if not sku:
        return None
    product = services.catalog_product(session, ctx, Product.sku == sku)
    return product.id if product else None


def _set_figures(order: Order, incoming: ProviderOrder) -> None:
    """The provider's amounts win over the sum of the lines: tax, shipping and discounts are
    in them. ``refunded`` never exceeds the total."""
    for name in FIGURES:
        setattr(order, name, getattr(incoming, name))
    order.refunded = min(to_money(incoming.refunded), to_money(incoming.total))
    order.provider_updated_at = incoming.updated_at or order.provider_updated_at


def _is_older(incoming: ProviderOrder, order: Order) -> bool:
    return (
        incoming.updated_at is not None
        and order.provider_updated_at is not None
        and incoming.updated_at < order.provider_updated_at
    )


def _line_key(line: Any) -> tuple[str, str | None, int, Decimal]:
    return (line.name, line.sku, line.quantity, to_money(line.unit_price))


def _line_keys(items: Any) -> list[tuple[str, str | None, int, Decimal]]:
    return [_line_key(item) for item in items]
