"""Orders and catalog: the one place that creates, changes, lists and counts them.

Routes, assistant tools, the CLI import and the demo all call these functions. Stock moves
only through single conditional UPDATE statements, so concurrent orders never oversell; order
numbers come from a per-project counter row whose lock serialises numbering.
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import Select, bindparam, func, insert, or_, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from core.context import Context
from core.db import Money, get_scoped, scoped, to_money, upsert_insert, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.events import publish
from plugins.customers import services as customer_services
from plugins.customers.models import Customer
from plugins.customers.schemas import normalize_phone
from plugins.orders.models import (
    ALLOWED_TRANSITIONS,
    NON_REVENUE_STATUSES,
    ORDER_STATUSES,
    Order,
    OrderCounter,
    OrderItem,
    Product,
    ProductCategory,
    counted_in_figures,
)
from plugins.orders.schemas import MAX_MONEY, parse_import_row

ZERO = Decimal("0.00")
NET_TOTAL = type_coerce(Order.total - Order.refunded, Money())
"""An order's revenue: its total less what was refunded."""


# ---- catalog -------------------------------------------------------------------------------


def create_category(session: Session, ctx: Context, data: dict[str, Any]) -> ProductCategory:
    _check_category_name(session, ctx, data["name"])
    category = ProductCategory(project_id=ctx.project_id, **data)
    session.add(category)
    session.flush()
    return category


def list_categories(ctx: Context) -> Select:
    return scoped(ProductCategory, ctx.project_id).order_by(ProductCategory.name)


def get_category(session: Session, ctx: Context, category_id: uuid.UUID) -> ProductCategory:
    return get_scoped(session, ProductCategory, ctx.project_id, category_id, what="Category")


def update_category(
    session: Session, ctx: Context, category_id: uuid.UUID, changes: dict[str, Any]
) -> ProductCategory:
    category = get_category(session, ctx, category_id)
    if "name" in changes and changes["name"] != category.name:
        _check_category_name(session, ctx, changes["name"])
    for name, value in changes.items():
        setattr(category, name, value)
    session.flush()
    return category


def delete_category(session: Session, ctx: Context, category_id: uuid.UUID) -> None:
    """Delete a category; its products stay, uncategorised."""
    session.delete(get_category(session, ctx, category_id))
    session.flush()


def _check_category_name(session: Session, ctx: Context, name: str) -> None:
    taken = session.scalar(
        select(ProductCategory.id).where(
            ProductCategory.project_id == ctx.project_id, ProductCategory.name == name
        )
    )
    if taken is not None:
        raise Conflict(f"A category named {name!r} already exists")


def create_product(session: Session, ctx: Context, data: dict[str, Any]) -> Product:
    _check_product_fields(session, ctx, data)
    product = Product(project_id=ctx.project_id, **data)
    session.add(product)
    session.flush()
    return product


def list_products(
    ctx: Context,
    *,
    q: str | None = None,
    category_id: uuid.UUID | None = None,
    include_deleted: bool = False,
) -> Select:
    statement = scoped(Product, ctx.project_id)
    if not include_deleted:
        statement = statement.where(Product.deleted_at.is_(None))
    if category_id is not None:
        statement = statement.where(Product.category_id == category_id)
    if q:
        pattern = _contains(q)
        statement = statement.where(
            or_(Product.name.ilike(pattern, escape="\\"), Product.sku.ilike(pattern, escape="\\"))
        )
    return statement.order_by(Product.name, Product.id)


def get_product(session: Session, ctx: Context, product_id: uuid.UUID) -> Product:
    return get_scoped(session, Product, ctx.project_id, product_id, what="Product")


def update_product(
    session: Session, ctx: Context, product_id: uuid.UUID, changes: dict[str, Any]
) -> Product:
    product = get_product(session, ctx, product_id)
    if product.deleted:
        raise Conflict(f"Product {product.name!r} is deleted")
    changes = {name: value for name, value in changes.items() if name != "updated_at"}
    _check_product_fields(session, ctx, changes, product)
    for name, value in changes.items():
        setattr(product, name, value)
    session.flush()
    return product


def delete_product(session: Session, ctx: Context, product_id: uuid.UUID) -> None:
    """Soft delete: the product leaves the catalog, past orders keep pointing at it."""
    product = get_product(session, ctx, product_id)
    if product.deleted_at is None:
        product.deleted_at = utcnow()
    session.flush()


def _check_product_fields(
    session: Session, ctx: Context, data: dict[str, Any], product: Product | None = None
) -> None:
    if data.get("category_id") is not None:
        category = session.get(ProductCategory, data["category_id"])
        if category is None or category.project_id != ctx.project_id:
            raise Invalid(errors={"category_id": [f"Unknown category {data['category_id']}"]})
    sku = data.get("sku")
    if sku is not None and (product is None or product.sku != sku):
        taken = session.scalar(
            select(Product.id).where(Product.project_id == ctx.project_id, Product.sku == sku)
        )
        if taken is not None:
            raise Conflict(f"A product with SKU {sku!r} already exists")


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
        values["pattern"] = _contains(text)
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


def _contains(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


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


# ---- statistics (SQL aggregates only) ------------------------------------------------------


def _since(days: int) -> datetime:
    return utcnow() - timedelta(days=days)


def order_summary(session: Session, ctx: Context, days: int = 30) -> dict[str, Any]:
    """Seed 001's summary, in the currency of most orders; other currencies apart, never added.

    Test orders and orders deleted at their provider count nowhere; revenue is net of refunds
    and leaves out cancelled and refunded orders (which still count as orders).
    """
    rows = session.execute(
        select(Order.currency, Order.status, func.count(), func.sum(NET_TOTAL))
        .where(*_figure_orders(ctx, days))
        .group_by(Order.currency, Order.status)
    ).all()
    orders_by_status: dict[str, int] = defaultdict(int)
    orders_by_currency: dict[str, int] = defaultdict(int)
    paying: dict[str, int] = defaultdict(int)
    revenue: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for currency, status, count, net in rows:
        orders_by_status[status] += count
        orders_by_currency[currency] += count
        if status not in NON_REVENUE_STATUSES:
            paying[currency] += count
            revenue[currency] += net or ZERO
    figures = {
        currency: {
            "orders": paying[currency],
            "revenue": to_money(revenue[currency]),
            "average_order_value": to_money(revenue[currency] / paying[currency])
            if paying[currency]
            else ZERO,
        }
        for currency in orders_by_currency
    }
    main = min(orders_by_currency, key=lambda c: (-orders_by_currency[c], c), default="USD")
    main_figures = figures.pop(main, {"revenue": ZERO, "average_order_value": ZERO})
    return {
        "period_days": days,
        "total_orders": sum(orders_by_status.values()),
        "currency": main,
        "total_revenue": main_figures["revenue"],
        "orders_by_status": {
            s: orders_by_status[s] for s in ORDER_STATUSES if s in orders_by_status
        },
        "average_order_value": main_figures["average_order_value"],
        "other_currencies": figures,
    }


def top_products(
    session: Session, ctx: Context, days: int = 30, limit: int = 10
) -> list[dict[str, Any]]:
    """Best sellers by quantity over the period (cancelled and refunded orders left out)."""
    quantity = func.sum(OrderItem.quantity)
    rows = session.execute(
        select(
            OrderItem.product_id,
            OrderItem.name,
            Order.currency,
            quantity,
            func.sum(OrderItem.line_total),
            func.count(func.distinct(OrderItem.order_id)),
        )
        .join(Order, Order.id == OrderItem.order_id)
        .where(*_revenue_orders(ctx, days))
        .group_by(OrderItem.product_id, OrderItem.name, Order.currency)
        .order_by(quantity.desc(), OrderItem.name)
        .limit(limit)
    ).all()
    return [
        {
            "product_id": product_id,
            "name": name,
            "currency": currency,
            "quantity": int(qty),
            "revenue": revenue or ZERO,
            "orders": orders,
        }
        for product_id, name, currency, qty, revenue, orders in rows
    ]


def revenue_by_day(session: Session, ctx: Context, days: int = 30) -> list[dict[str, Any]]:
    """Orders and net revenue per UTC day and currency over the period (days without orders
    are left out)."""
    if session.get_bind().dialect.name == "postgresql":
        day = func.date(func.timezone("UTC", Order.order_date))
    else:
        day = func.date(Order.order_date)
    rows = session.execute(
        select(day, Order.currency, func.count(), func.sum(NET_TOTAL))
        .where(*_revenue_orders(ctx, days))
        .group_by(day, Order.currency)
        .order_by(day, Order.currency)
    ).all()
    return [
        {
            "date": value if isinstance(value, date) else date.fromisoformat(value),
            "currency": currency,
            "orders": count,
            "revenue": total or ZERO,
        }
        for value, currency, count, total in rows
    ]


def _figure_orders(ctx: Context, days: int) -> list[Any]:
    """The orders a figure counts: the project's, in the period, neither test nor deleted."""
    return [
        Order.project_id == ctx.project_id,
        Order.order_date >= _since(days),
        *counted_in_figures(),
    ]


def _revenue_orders(ctx: Context, days: int) -> list[Any]:
    return [*_figure_orders(ctx, days), Order.status.not_in(NON_REVENUE_STATUSES)]


# ---- bulk: CSV import and demo data --------------------------------------------------------


@dataclass
class NewOrder:
    """An order to store in bulk (import, demo): already validated, numbers not yet assigned."""

    order_date: datetime
    lines: list[ItemLine]
    status: str = "fulfilled"
    provider: str = "import"
    external_id: str | None = None
    currency: str = "USD"
    customer_id: uuid.UUID | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    customer_phone: str | None = None
    fulfilled_date: datetime | None = None
    person_id: uuid.UUID | None = None
    table_number: int | None = None


def bulk_insert_orders(session: Session, project_id: uuid.UUID, orders: Sequence[NewOrder]) -> None:
    """Store many orders with two multi-row INSERTs; history, so stock and events are untouched."""
    if not orders:
        return
    first = allocate_order_numbers(session, project_id, len(orders))
    now = utcnow()
    order_rows, item_rows = [], []
    for number, new in enumerate(orders, first):
        order_id = uuid.uuid4()
        totals = [line.line_total for line in new.lines]
        order_rows.append(
            {
                "id": order_id,
                "project_id": project_id,
                "number": number,
                "external_id": new.external_id,
                "provider": new.provider,
                "status": new.status,
                "customer_id": new.customer_id,
                "customer_name": new.customer_name,
                "customer_email": new.customer_email,
                "customer_phone": new.customer_phone,
                "person_id": new.person_id,
                "table_number": new.table_number,
                "membership_id": None,
                "currency": new.currency,
                "total": to_money(sum(totals, ZERO)),
                "order_date": new.order_date,
                "fulfilled_date": new.fulfilled_date,
                "idempotency_key": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        for position, (line, line_total) in enumerate(zip(new.lines, totals, strict=True)):
            item_rows.append(
                {
                    "id": uuid.uuid4(),
                    "project_id": project_id,
                    "order_id": order_id,
                    "product_id": line.product_id,
                    "position": position,
                    "name": line.name,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "line_total": line_total,
                    "created_at": now,
                }
            )
    session.execute(insert(Order.__table__), order_rows)
    session.execute(insert(OrderItem.__table__), item_rows)


@dataclass
class ImportReport:
    orders: int = 0
    items: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def import_orders(
    session: Session,
    ctx: Context,
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 2000,
) -> ImportReport:
    """Import CSV rows ``(line number, row)``: one item per row, rows sharing ``external_id``
    (per provider) make one order. A bad row is reported by line and drops its order only;
    every other order is kept. Orders already imported (same provider and external_id) are
    reported, not duplicated. Imported orders are history: stock is not changed, no events.

    Per batch of orders: one query for duplicates, one for known customers, one counter UPDATE
    for the numbers and two multi-row INSERTs.
    """
    report = ImportReport()
    groups: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    bad_groups: set[tuple[str, str]] = set()
    for line, raw in rows:
        try:
            row = parse_import_row(raw)
        except ValidationError as error:
            report.errors.append((line, _describe(error.messages)))
            key = (
                (raw.get("provider") or "").strip() or "import",
                (raw.get("external_id") or "").strip() or f"#{line}",
            )
            bad_groups.add(key)
            continue
        key = (row["provider"], row["external_id"] or f"#{line}")
        groups.setdefault(key, []).append((line, row))
    for key in bad_groups & groups.keys():
        _reject(report, key, groups.pop(key), None)
    if progress is not None:
        progress(len(report.errors))
    catalog = _catalog_index(session, ctx)
    customers: dict[CustomerKey, Any] = {}
    pending = list(groups.items())
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        known = _imported_external_ids(session, ctx, [key for key, _ in batch])
        fresh = []
        for key, lines in batch:
            if key in known:
                report.errors.append(
                    (lines[0][0], f"order {key[1]} from {key[0]} was already imported")
                )
            else:
                fresh.append((key, lines))
        _resolve_customers(session, ctx, [lines[0][1] for _, lines in fresh], customers)
        new_orders = []
        for key, lines in fresh:
            first = lines[0][1]
            customer = customers.get((first["customer_email"], first["customer_phone"]))
            if isinstance(customer, str):
                _reject(report, key, lines, customer)
            else:
                rows_of_order = [row for _, row in lines]
                new_orders.append(_new_order_from_rows(key, rows_of_order, catalog, customer))
        bulk_insert_orders(session, ctx.project_id, new_orders)
        report.orders += len(new_orders)
        report.items += sum(len(order.lines) for order in new_orders)
        if progress is not None:
            progress(sum(len(lines) for _, lines in batch))
    report.errors.sort()
    return report


def _reject(
    report: ImportReport,
    key: tuple[str, str],
    lines: list[tuple[int, dict[str, Any]]],
    problem: str | None,
) -> None:
    """Report every line of an order that is not imported: ``problem`` on its first line (when
    that line has not been reported already), "skipped" on the others."""
    for index, (line, _) in enumerate(lines):
        if index == 0 and problem is not None:
            report.errors.append((line, problem))
        else:
            report.errors.append((line, f"skipped: another line of order {key[1]} is invalid"))


def _describe(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(
            f"{name}: {' '.join(map(str, problems))}" for name, problems in messages.items()
        )
    return str(messages)


def _catalog_index(session: Session, ctx: Context) -> dict[str, Product]:
    index: dict[str, Product] = {}
    for product in session.scalars(list_products(ctx)):
        index.setdefault("name:" + product.name.lower(), product)
        if product.sku:
            index["sku:" + product.sku] = product
    return index


def _imported_external_ids(
    session: Session, ctx: Context, keys: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    by_provider: dict[str, list[str]] = defaultdict(list)
    for provider, external_id in keys:
        if not external_id.startswith("#"):
            by_provider[provider].append(external_id)
    found: set[tuple[str, str]] = set()
    for provider, external_ids in by_provider.items():
        rows = session.execute(
            select(Order.provider, Order.external_id).where(
                Order.project_id == ctx.project_id,
                Order.provider == provider,
                Order.external_id.in_(external_ids),
            )
        ).all()
        found.update((row_provider, external_id) for row_provider, external_id in rows)
    return found


CustomerKey = tuple[str | None, str | None]
"""A customer as an import line names it: (email, phone) as written."""


def _resolve_customers(
    session: Session, ctx: Context, rows: Iterable[dict[str, Any]], resolved: dict[CustomerKey, Any]
) -> None:
    """Add to ``resolved`` the customer of each row's email/phone not resolved yet, or the
    reason (a string) why the customers plugin refuses it.

    One query finds the known customers; the customers plugin's find_or_create is called only
    for the others, or when it would complete a known customer's email or phone.
    """
    wanted: dict[CustomerKey, str | None] = {}
    for row in rows:
        key = (row["customer_email"], row["customer_phone"])
        if key != (None, None) and key not in resolved:
            wanted.setdefault(key, row["customer_name"])
    if not wanted:
        return
    emails = {email: email.lower() for email, _ in wanted if email}
    phones = {}
    for _, phone in wanted:
        if phone:
            try:
                phones[phone] = normalize_phone(phone)
            except ValueError:
                continue  # find_or_create below says why
    known = session.scalars(
        scoped(Customer, ctx.project_id).where(
            or_(Customer.email.in_(set(emails.values())), Customer.phone.in_(set(phones.values())))
        )
    ).all()
    by_email = {customer.email: customer for customer in known if customer.email}
    by_phone: dict[str, list[Any]] = defaultdict(list)
    for customer in known:
        if customer.phone:
            by_phone[customer.phone].append(customer)
    for (email, phone), name in wanted.items():
        customer = by_email.get(emails[email]) if email else None
        if customer is None and phone in phones and len(by_phone[phones[phone]]) == 1:
            customer = by_phone[phones[phone]][0]
        complete = (
            customer is not None
            and (customer.email or not email)
            and (customer.phone or not phone)
            and (phone in phones or not phone)
        )
        if not complete:
            try:
                customer = lookup_customer(session, ctx, name, email, phone)
            except (Invalid, Conflict) as error:
                customer = _describe(error.errors) if error.errors else error.detail
        resolved[(email, phone)] = customer


def _new_order_from_rows(
    key: tuple[str, str], rows: list[dict[str, Any]], catalog: dict[str, Product], customer: Any
) -> NewOrder:
    first = rows[0]
    lines = []
    for row in rows:
        product = catalog.get(f"sku:{row['sku']}") if row["sku"] else None
        if product is None and row["product_name"]:
            product = catalog.get("name:" + row["product_name"].lower())
        lines.append(
            ItemLine(
                name=product.name if product else (row["product_name"] or row["sku"]),
                quantity=row["quantity"],
                unit_price=row["unit_price"],
                product_id=product.id if product else None,
                sku=product.sku if product else row["sku"],
            )
        )
    return NewOrder(
        order_date=first["order_date"],
        lines=lines,
        status=first["status"],
        provider=key[0],
        external_id=None if key[1].startswith("#") else key[1],
        currency=first["currency"],
        customer_id=customer.id if customer else None,
        customer_name=first["customer_name"] or (customer.name if customer else None),
        customer_email=first["customer_email"] or (customer.email if customer else None),
        customer_phone=first["customer_phone"] or (customer.phone if customer else None),
        fulfilled_date=first["order_date"]
        if first["status"] in ("fulfilled", "refunded")
        else None,
    )
