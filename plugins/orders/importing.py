"""Orders stored in bulk: the CSV import, and ``bulk_insert_orders`` which the demo data of
several plugins uses too. Bulk orders are history: stock is not changed and no events go out.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.context import Context
from core.db import insert_rows, scoped, to_money, utcnow
from core.errors import Conflict, Invalid
from plugins.customers.models import Customer
from plugins.customers.schemas import normalize_phone
from plugins.orders.catalog import list_products
from plugins.orders.models import Order, OrderItem, Product
from plugins.orders.schemas import parse_import_row
from plugins.orders.services import ZERO, ItemLine, allocate_order_numbers, lookup_customer


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


ORDER_COLUMNS = (
    "id", "number", "external_id", "provider", "status", "customer_id", "customer_name",
    "customer_email", "customer_phone", "person_id", "table_number", "currency", "total",
    "refunded", "is_test", "order_date", "fulfilled_date",
)  # fmt: skip
ITEM_COLUMNS = (
    "id", "order_id", "product_id", "position", "name", "sku", "quantity", "unit_price",
    "line_total", "stock_taken",
)  # fmt: skip


def bulk_insert_orders(session: Session, project_id: uuid.UUID, orders: Sequence[NewOrder]) -> None:
    """Store many orders with one bulk insert of orders and one of items (``insert_rows``);
    history, so stock and events are untouched."""
    if not orders:
        return
    first = allocate_order_numbers(session, project_id, len(orders))
    order_rows, item_rows = [], []
    for number, new in enumerate(orders, first):
        order_id = uuid.uuid4()
        totals = [line.line_total for line in new.lines]
        order_rows.append(
            (
                order_id,
                number,
                new.external_id,
                new.provider,
                new.status,
                new.customer_id,
                new.customer_name,
                new.customer_email,
                new.customer_phone,
                new.person_id,
                new.table_number,
                new.currency,
                to_money(sum(totals, ZERO)),
                ZERO,
                False,
                new.order_date,
                new.fulfilled_date,
            )
        )
        for position, (line, line_total) in enumerate(zip(new.lines, totals, strict=True)):
            item_rows.append(
                (
                    uuid.uuid4(),
                    order_id,
                    line.product_id,
                    position,
                    line.name,
                    line.sku,
                    line.quantity,
                    line.unit_price,
                    line_total,
                    True,
                )
            )
    now = utcnow()
    stamps = {"project_id": project_id, "created_at": now}
    insert_rows(session, Order.__table__, ORDER_COLUMNS, order_rows, stamps | {"updated_at": now})
    insert_rows(session, OrderItem.__table__, ITEM_COLUMNS, item_rows, stamps)


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
