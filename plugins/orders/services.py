"""Orders: the one place that creates, reads, lists and changes them.

Routes, assistant tools, carts, shop connectors and the import all call these functions. Stock
moves only through single conditional UPDATE statements, so concurrent orders never oversell;
order numbers come from a per-project counter row whose lock serialises numbering.
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from core.context import Context
from core.db import scoped, to_money, upsert_insert, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.events import publish
from plugins.customers import services as customer_services
from plugins.orders.catalog import contains_pattern
from plugins.orders.models import ALLOWED_TRANSITIONS, Order, OrderCounter, OrderItem, Product
from plugins.orders.schemas import MAX_MONEY

ZERO = Decimal("0.00")


# ---- creating orders -----------------------------------------------------------------------


@dataclass
class ItemLine:
    """An order line resolved against the catalog, ready to be stored."""

    name: str
    quantity: int
    unit_price: Decimal
    product_id: uuid.UUID | None = None
    sku: str | None = None
    stock_taken: bool = True

    @property
    def line_total(self) -> Decimal:
        return to_money(self.unit_price * self.quantity)


def create_order(
    session: Session, ctx: Context, data: dict[str, Any], *, idempotency_key: str | None = None
) -> Order:
    """Create an order from either seed shape; stock is taken atomically, totals computed here.

    With ``idempotency_key`` a retry (even a concurrent one) returns the order the first call
    created. Raises ``Invalid`` (naming the field) or ``Conflict`` with nothing written.
    """
    if idempotency_key:
        existing = _order_by_idempotency_key(session, ctx, idempotency_key)
        if existing is not None:
            return existing
    items_field = data.get("items_field", "items")
    lines = resolve_items(session, ctx, data["items"], items_field)
    customer = resolve_customer(session, ctx, data)
    take_stock(session, ctx, lines)
    order = Order(
        project_id=ctx.project_id,
        number=allocate_order_numbers(session, ctx.project_id),
        external_id=data.get("external_id"),
        provider=data.get("provider", "manual"),
        status=data.get("status", "pending"),
        person_id=data.get("person_id"),
        table_number=data.get("table_number"),
        membership_id=data.get("membership_id"),
        currency=data.get("currency", "USD"),
        order_date=data.get("order_date") or utcnow(),
        idempotency_key=idempotency_key,
        **customer,
    )
    check_with_plugins(session, order)
    set_items(order, lines)
    session.add(order)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return _resolve_duplicate(session, ctx, data, idempotency_key)
    publish(session, "order.created", ctx.project_id, order_payload(order))
    return order


def check_with_plugins(session: Session, order: Order) -> None:
    """Let every plugin refuse the order (hook ``check_order``), e.g. one whose link to a row
    of theirs does not fit; their ``Invalid`` reaches the caller unchanged."""
    plugins = current_app.extensions["nebulo"].plugins
    for impl in plugins.in_order("check_order"):
        plugins.call("check_order", impl, session=session, order=order)


def _resolve_duplicate(
    session: Session, ctx: Context, data: dict[str, Any], idempotency_key: str | None
) -> Order:
    """A concurrent twin won the insert: return it for the same idempotency key, else 409."""
    if idempotency_key:
        existing = _order_by_idempotency_key(session, ctx, idempotency_key)
        if existing is not None:
            return existing
    if data.get("external_id"):
        raise Conflict(
            f"An order with external_id {data['external_id']!r} "
            f"from {data.get('provider', 'manual')} "
            "already exists"
        )
    raise Conflict("The order conflicts with one created at the same time; retry")


def _order_by_idempotency_key(session: Session, ctx: Context, key: str) -> Order | None:
    return session.scalar(
        scoped(Order, ctx.project_id)
        .where(Order.idempotency_key == key)
        .options(selectinload(Order.items))
    )


def resolve_items(
    session: Session,
    ctx: Context,
    items: Sequence[dict[str, Any]],
    items_field: str = "items",
    order_total: Decimal = ZERO,
) -> list[ItemLine]:
    """Match each requested item to the catalog (by id, SKU or exact name) and price it.

    An unknown ``product_id`` is an error; an unknown name or SKU is a free-text line, which
    then needs its own price. A line total, or the order's total (``order_total`` so far plus
    these lines), beyond what an amount column holds is an error too, found before any stock
    moves.
    """
    ids = {item["product_id"] for item in items if "product_id" in item}
    by_id = (
        {
            product.id: product
            for product in session.scalars(
                scoped(Product, ctx.project_id).where(
                    Product.id.in_(ids), Product.deleted_at.is_(None)
                )
            )
        }
        if ids
        else {}
    )
    errors: dict[str, dict[str, list[str]]] = {}
    lines = []
    for index, item in enumerate(items):
        product = None
        if "product_id" in item:
            product = by_id.get(item["product_id"])
            if product is None:
                errors[str(index)] = {"product_id": [f"Unknown product {item['product_id']}"]}
                continue
        elif item.get("sku"):
            product = catalog_product(session, ctx, Product.sku == item["sku"])
        if product is None and item.get("name"):
            product = catalog_product(
                session, ctx, func.lower(Product.name) == item["name"].lower()
            )
        price = item.get("unit_price")
        if price is None and product is None:
            errors[str(index)] = {"price": ["Required for an item that is not in the catalog"]}
            continue
        lines.append(
            ItemLine(
                name=product.name if product else (item.get("name") or item["sku"]),
                quantity=item["quantity"],
                unit_price=price if price is not None else product.price,
                product_id=product.id if product else None,
                sku=product.sku if product else item.get("sku"),
            )
        )
    if not errors:  # lines and items match one to one
        for index, line in enumerate(lines):
            if line.line_total > MAX_MONEY:
                errors[str(index)] = {"quantity": [f"The line's total exceeds {MAX_MONEY}"]}
    if errors:
        raise Invalid(f"Validation failed for: {items_field}", errors={items_field: errors})
    if order_total + sum(line.line_total for line in lines) > MAX_MONEY:
        raise Invalid(
            f"Validation failed for: {items_field}",
            errors={items_field: [f"The order's total would exceed {MAX_MONEY}"]},
        )
    return lines


def catalog_product(session: Session, ctx: Context, condition: Any) -> Product | None:
    return session.scalar(
        scoped(Product, ctx.project_id)
        .where(condition, Product.deleted_at.is_(None))
        .order_by(Product.created_at)
        .limit(1)
    )


def resolve_customer(session: Session, ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """The customer link and a snapshot of their name, email and phone at order time.

    By ``customer_id`` (unknown => 422); else by email/phone through the customers plugin, which
    creates the customer when new; else by an exact, unambiguous name; else a snapshot only.
    """
    snapshot = {
        "customer_name": data.get("customer_name"),
        "customer_email": data.get("customer_email"),
        "customer_phone": data.get("customer_phone"),
    }
    customer = None
    if data.get("customer_id"):
        try:
            customer = customer_services.get_customer(session, ctx, data["customer_id"])
        except NotFound:
            raise Invalid(
                errors={"customer_id": [f"Unknown customer {data['customer_id']}"]}
            ) from None
    elif snapshot["customer_email"] or snapshot["customer_phone"]:
        customer = lookup_customer(session, ctx, **snapshot)
    elif snapshot["customer_name"]:
        customer = _customer_named(session, ctx, snapshot["customer_name"])
    if customer is None:
        return snapshot
    return {
        "customer_id": customer.id,
        "customer_name": snapshot["customer_name"] or customer.name,
        "customer_email": snapshot["customer_email"] or customer.email,
        "customer_phone": snapshot["customer_phone"] or customer.phone,
    }


def lookup_customer(
    session: Session,
    ctx: Context,
    customer_name: str | None,
    customer_email: str | None,
    customer_phone: str | None,
) -> Any:
    """The customers plugin's customer for this email/phone (created when new)."""
    try:
        return customer_services.find_or_create_customer(
            session, ctx.project_id, name=customer_name, email=customer_email, phone=customer_phone
        )
    except Invalid as error:
        raise Invalid(
            errors={f"customer_{name}": problems for name, problems in error.errors.items()}
        ) from None


def _customer_named(session: Session, ctx: Context, name: str) -> Any:
    candidates = session.scalars(
        customer_services.list_customers(ctx, {"search": name}).limit(20)
    ).all()
    exact = [customer for customer in candidates if customer.name.lower() == name.lower()]
    return exact[0] if len(exact) == 1 else None


def take_stock(session: Session, ctx: Context, lines: Iterable[ItemLine]) -> None:
    """Decrement stock per product in one conditional UPDATE each; ``Conflict`` if short."""
    for product_id, quantity in _quantities_by_product(lines).items():
        shortage = _take_product_stock(session, ctx, product_id, quantity)
        if shortage:
            raise Conflict(shortage)


def take_available_stock(session: Session, ctx: Context, lines: Sequence[ItemLine]) -> list[str]:
    """Take the stock of every product that has enough; the lines of a product short of it
    keep ``stock_taken`` False. For orders that already happened (at a provider): returns
    the shortages, to be flagged on the order rather than refusing it."""
    shortages = []
    for product_id, quantity in _quantities_by_product(lines).items():
        shortage = _take_product_stock(session, ctx, product_id, quantity)
        if shortage:
            shortages.append(shortage)
            for line in lines:
                if line.product_id == product_id:
                    line.stock_taken = False
    return shortages


def _take_product_stock(
    session: Session, ctx: Context, product_id: uuid.UUID, quantity: int
) -> str | None:
    """One conditional UPDATE; the shortage, said for people, when the product lacks stock."""
    result = session.execute(
        update(Product)
        .where(
            Product.id == product_id,
            Product.project_id == ctx.project_id,
            Product.deleted_at.is_(None),
            Product.stock >= quantity,
        )
        .values(stock=Product.stock - quantity)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        return None
    name, stock = session.execute(
        select(Product.name, Product.stock).where(Product.id == product_id)
    ).one()
    return f"Not enough stock of {name!r}: {quantity} wanted, {stock} left"


def restore_stock(session: Session, order: Order) -> None:
    """Give back the stock an order's lines took (a cancelled, deleted or edited order)."""
    holding = [item for item in order.items if item.stock_taken]
    lines = [ItemLine(i.name, i.quantity, i.unit_price, i.product_id) for i in holding]
    for product_id, quantity in _quantities_by_product(lines).items():
        session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(stock=Product.stock + quantity)
            .execution_options(synchronize_session=False)
        )
    for item in holding:
        item.stock_taken = False


def _quantities_by_product(lines: Iterable[ItemLine]) -> dict[uuid.UUID, int]:
    quantities: dict[uuid.UUID, int] = defaultdict(int)
    for line in lines:
        if line.product_id is not None:
            quantities[line.product_id] += line.quantity
    return dict(sorted(quantities.items()))


def set_items(order: Order, lines: Sequence[ItemLine]) -> None:
    start = len(order.items)
    for position, line in enumerate(lines, start):
        order.items.append(
            OrderItem(
                project_id=order.project_id,
                product_id=line.product_id,
                position=position,
                name=line.name,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                line_total=line.line_total,
                stock_taken=line.stock_taken,
            )
        )
    order.total = to_money(sum((item.line_total for item in order.items), ZERO))


def allocate_order_numbers(session: Session, project_id: uuid.UUID, count: int = 1) -> int:
    """Reserve ``count`` consecutive order numbers; returns the first.

    The counter row is created on first use (ON CONFLICT DO NOTHING) and advanced with
    UPDATE ... RETURNING, whose row lock makes concurrent orders wait their turn.
    """
    session.execute(
        upsert_insert(session)(OrderCounter)
        .values(project_id=project_id, last_number=0)
        .on_conflict_do_nothing()
    )
    last = session.execute(
        update(OrderCounter)
        .where(OrderCounter.project_id == project_id)
        .values(last_number=OrderCounter.last_number + count)
        .returning(OrderCounter.last_number)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return last - count + 1


# ---- reading and changing orders -----------------------------------------------------------


def get_order(session: Session, ctx: Context, order_id: uuid.UUID) -> Order:
    order = session.scalar(
        scoped(Order, ctx.project_id).where(Order.id == order_id).options(selectinload(Order.items))
    )
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    return order


def find_order(session: Session, ctx: Context, reference: str | int) -> Order:
    """An order by its number (``1042``, ``#1042``) or its id."""
    text = str(reference).strip().lstrip("#")
    if text.isdigit():
        order = session.scalar(
            scoped(Order, ctx.project_id)
            .where(Order.number == int(text))
            .options(selectinload(Order.items))
        )
        if order is None:
            raise NotFound(f"Order {text} not found")
        return order
    try:
        order_id = uuid.UUID(text)
    except ValueError:
        raise NotFound(f"Order {reference!r} not found (give its number or id)") from None
    return get_order(session, ctx, order_id)


def list_orders(ctx: Context, filters: dict[str, Any]) -> Select:
    """The orders matching ``filters`` (see ``OrderListArgs``), sorted, without their items:
    callers that show items load them for the page (``listing.order_page``)."""
    query = order_query(ctx, filters)
    conditions, ordering = order_criteria(query.shape)
    return select(Order).where(*conditions).order_by(*ordering).params(query.values)


ORDER_FILTERS = ("status", "provider", "customer_id", "person_id")
"""The filters of the orders list that are one column's equality."""


@dataclass(frozen=True)
class OrderQuery:
    """A list of orders as the conditions it applies (``shape``: which filters, which sort)
    and the values they compare with, bound by name. Requests of one shape share one
    statement, built once: what each request builds is its values."""

    shape: tuple[str, ...]
    values: dict[str, Any]


def order_query(ctx: Context, filters: dict[str, Any]) -> OrderQuery:
    """The list of ``ctx``'s orders that ``filters`` (see ``OrderListArgs``) ask for."""
    shape: list[str] = []
    values: dict[str, Any] = {"project_id": ctx.project_id}
    for name in ORDER_FILTERS:
        if filters.get(name) is not None:
            shape.append(name)
            values[name] = filters[name]
    if filters.get("days"):
        shape.append("since")
        values["since"] = utcnow() - timedelta(days=filters["days"])
    for name in ("date_from", "date_to"):
        if filters.get(name):
            shape.append(name)
            values[name] = filters[name]
    if filters.get("q"):
        text = filters["q"].strip().lstrip("#")
        shape.append("text")
        values["pattern"] = contains_pattern(text)
        if text.isdigit():
            shape.append("number")
            values["number"] = int(text)
    shape.append("by_total" if filters.get("sort_by") == "total" else "by_date")
    shape.append("asc" if filters.get("order") == "asc" else "desc")
    return OrderQuery(tuple(shape), values)


@functools.lru_cache(maxsize=256)
def order_criteria(shape: tuple[str, ...]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The WHERE conditions and the ORDER BY of a list of orders of ``shape``, on the tables
    (plain Core) and with named parameters: see :class:`OrderQuery`."""
    orders, items = Order.__table__.c, OrderItem.__table__.c
    conditions = [orders.project_id == bindparam("project_id")]
    conditions += [orders[name] == bindparam(name) for name in ORDER_FILTERS if name in shape]
    if "since" in shape:
        conditions.append(orders.order_date >= bindparam("since"))
    if "date_from" in shape:
        conditions.append(orders.order_date >= bindparam("date_from"))
    if "date_to" in shape:
        conditions.append(orders.order_date <= bindparam("date_to"))
    if "text" in shape:
        pattern = bindparam("pattern")
        matches = [
            orders.customer_name.ilike(pattern, escape="\\"),
            orders.customer_email.ilike(pattern, escape="\\"),
            orders.id.in_(
                select(items.order_id).where(
                    items.project_id == bindparam("project_id"),
                    items.name.ilike(pattern, escape="\\"),
                )
            ),
        ]
        if "number" in shape:
            matches.append(orders.number == bindparam("number"))
        conditions.append(or_(*matches))
    column = orders.total if "by_total" in shape else orders.order_date
    if "asc" in shape:
        return tuple(conditions), (column.asc(), orders.number.asc())
    return tuple(conditions), (column.desc(), orders.number.desc())


def update_order(
    session: Session, ctx: Context, order_id: uuid.UUID, changes: dict[str, Any]
) -> Order:
    """Change status (only along ``ALLOWED_TRANSITIONS``, else 409), fulfilled date or table.

    Cancelling gives the stock back; becoming fulfilled stamps ``fulfilled_date`` unless given.
    """
    order = get_order(session, ctx, order_id)
    before = {"status": order.status, "fulfilled_date": order.fulfilled_date}
    new_status = changes.get("status", order.status)
    if new_status != order.status:
        if new_status not in ALLOWED_TRANSITIONS[order.status]:
            allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[order.status])) or "none"
            raise Conflict(
                f"Order {order.number} cannot go from {order.status} to {new_status} "
                f"(allowed: {allowed})"
            )
        if new_status == "cancelled":
            restore_stock(session, order)
        if new_status == "fulfilled" and "fulfilled_date" not in changes:
            order.fulfilled_date = utcnow()
        order.status = new_status
    if "fulfilled_date" in changes:
        order.fulfilled_date = changes["fulfilled_date"]
    if "table_number" in changes:
        order.table_number = changes["table_number"]
    session.flush()
    changed = {
        name: [value, getattr(order, name)]
        for name, value in before.items()
        if getattr(order, name) != value
    }
    publish(session, "order.updated", ctx.project_id, {**order_payload(order), "changes": changed})
    return order


def delete_order(session: Session, ctx: Context, order_id: uuid.UUID) -> None:
    """Delete an order; a pending one gives its stock back first."""
    order = get_order(session, ctx, order_id)
    if order.status == "pending":
        restore_stock(session, order)
    payload = order_payload(order)
    session.delete(order)
    session.flush()
    publish(session, "order.deleted", ctx.project_id, payload)


def add_items(
    session: Session, ctx: Context, order_id: uuid.UUID, items: Sequence[dict[str, Any]]
) -> tuple[Order, int]:
    """Add several items to a pending order (seed 004's bulk cart products): all or none."""
    order = get_order(session, ctx, order_id)
    if order.status != "pending":
        raise Conflict(
            f"Order {order.number} is {order.status}; items can only be added while pending"
        )
    lines = resolve_items(session, ctx, items, order_total=order.total)
    take_stock(session, ctx, lines)
    set_items(order, lines)
    session.flush()
    publish(
        session,
        "order.updated",
        ctx.project_id,
        {**order_payload(order), "added_items": len(lines)},
    )
    return order, len(lines)


def order_payload(order: Order) -> dict[str, Any]:
    """What events say about an order."""
    return {
        "order_id": order.id,
        "number": order.number,
        "status": order.status,
        "total": order.total,
        "currency": order.currency,
        "customer_id": order.customer_id,
        "customer_name": order.customer_name,
        "person_id": order.person_id,
        "items": len(order.items),
        "is_test": order.is_test,
    }
