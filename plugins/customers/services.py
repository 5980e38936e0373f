"""Customers: listing, create/change/delete, find-or-create by a channel identity, email or
phone, and the CSV import; the one place routes, tools, the CLI and other plugins call for them.

The churn model is trained in :mod:`~plugins.customers.training`, customers are scored in
:mod:`~plugins.customers.predictions` and their risk watched in
:mod:`~plugins.customers.monitoring`. Functions answering a caller take a
:class:`~core.context.Context`; the ones other plugins call with no caller (find-or-create)
take a project id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from core.context import Context
from core.db import get_scoped, scoped
from core.errors import Conflict, Invalid
from plugins.customers.models import ChannelIdentity, Customer, RiskHistory
from plugins.customers.schemas import normalize_phone

IDENTITY_COLUMNS = ("email", "shopify_customer_id", "whatsapp_phone", "telegram_chat_id")
CHANNEL_COLUMNS = {
    "shopify": "shopify_customer_id",
    "whatsapp": "whatsapp_phone",
    "telegram": "telegram_chat_id",
}
"""Channels with a column of their own; any other channel's ids are ``ChannelIdentity`` rows."""
CHANNEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
IDENTITY_LENGTH = 255
SORTABLE = {
    "id": Customer.id,
    "name": Customer.name,
    "risk_score": Customer.risk_score,
    "created_at": Customer.created_at,
}
HISTORY_SHOWN = 100


def list_customers(ctx: Context, args: dict[str, Any]) -> Select[tuple[Customer]]:
    """Customers matching ``search`` (name, email, phone) and ``risk_tier``, sorted."""
    statement = scoped(Customer, ctx.project_id)
    if "search" in args:
        pattern = f"%{args['search'].lower()}%"
        statement = statement.where(
            or_(
                func.lower(Customer.name).like(pattern),
                func.lower(Customer.email).like(pattern),
                Customer.phone.like(pattern),
            )
        )
    if "risk_tier" in args:
        statement = statement.where(Customer.risk_tier == args["risk_tier"])
    column = SORTABLE[args.get("sort_by", "created_at")]
    ordered = column.desc() if args.get("order") == "desc" else column.asc()
    if args.get("sort_by") == "risk_score":
        ordered = ordered.nulls_last()
    return statement.order_by(ordered, Customer.id)


def get_customer(session: Session, ctx: Context, customer_id: uuid.UUID) -> Customer:
    return get_scoped(session, Customer, ctx.project_id, customer_id, what="Customer")


def customer_detail(session: Session, ctx: Context, customer_id: uuid.UUID) -> dict[str, Any]:
    """The customer's fields plus their latest risk history points, oldest first."""
    customer = get_customer(session, ctx, customer_id)
    latest = session.scalars(
        select(RiskHistory)
        .where(RiskHistory.customer_id == customer.id)
        .order_by(RiskHistory.timestamp.desc())
        .limit(HISTORY_SHOWN)
    ).all()
    detail = {column.key: getattr(customer, column.key) for column in Customer.__mapper__.columns}
    detail["risk_history"] = [
        {"score": point.score, "timestamp": point.timestamp} for point in reversed(latest)
    ]
    return detail


def _normalized(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("email"):
        values = {**values, "email": values["email"].strip().lower()}
    return values


def _check_identities_free(
    session: Session, project_id: uuid.UUID, values: dict[str, Any], exclude: uuid.UUID | None
) -> None:
    """409 when another customer of the project already has one of these identities."""
    for name in IDENTITY_COLUMNS:
        value = values.get(name)
        if value is None:
            continue
        statement = select(Customer.id).where(
            Customer.project_id == project_id, getattr(Customer, name) == value
        )
        if exclude is not None:
            statement = statement.where(Customer.id != exclude)
        other = session.scalar(statement.limit(1))
        if other is not None:
            raise Conflict(f"Another customer of this project ({other}) already has {name} {value}")


def create_customer(session: Session, ctx: Context, data: dict[str, Any]) -> Customer:
    values = _normalized(data)
    _check_identities_free(session, ctx.project_id, values, exclude=None)
    customer = Customer(project_id=ctx.project_id, **values)
    session.add(customer)
    session.flush()
    return customer


def update_customer(
    session: Session, ctx: Context, customer_id: uuid.UUID, changes: dict[str, Any]
) -> Customer:
    customer = get_customer(session, ctx, customer_id)
    changes = _normalized(changes)
    _check_identities_free(session, ctx.project_id, changes, exclude=customer.id)
    for name, value in changes.items():
        setattr(customer, name, value)
    session.flush()
    return customer


def delete_customer(session: Session, ctx: Context, customer_id: uuid.UUID) -> None:
    """Delete the customer with their risk history and alerts (ON DELETE CASCADE)."""
    session.delete(get_customer(session, ctx, customer_id))
    session.flush()


def find_or_create_customer(
    session: Session,
    project_id: uuid.UUID,
    *,
    email: str | None = None,
    phone: str | None = None,
    channel: str | None = None,
    identity: str | None = None,
    name: str | None = None,
) -> Customer:
    """The project's customer known by a channel identity, email or phone (in that order of
    trust), else a new one. Orders and connectors call this for every inbound contact.

    ``channel`` is a connector's name (``shopify``, ``whatsapp``, ``telegram`` or a third
    party's) with ``identity`` the contact's id there; a found customer gains the identities
    it did not have yet.
    """
    if (channel is None) != (identity is None):
        raise Invalid(errors={"identity": ["channel and identity go together"]})
    if channel is not None and not CHANNEL_NAME.fullmatch(channel):
        raise Invalid(errors={"channel": ["A connector name: lower-case letters, digits, _"]})
    if identity is not None and len(str(identity)) > IDENTITY_LENGTH:
        raise Invalid(errors={"identity": [f"Longer than {IDENTITY_LENGTH} characters."]})
    if not (email or phone or identity):
        raise Invalid(errors={"email": ["Give an email, a phone or a channel identity"]})
    email = email.strip().lower() if email else None
    if phone:
        try:
            phone = normalize_phone(phone)
        except ValueError as error:
            raise Invalid(errors={"phone": [str(error)]}) from None
    lookups = []
    if channel is not None:
        lookups.append(_known_on_channel(project_id, channel, str(identity)))
    if email:
        lookups.append(Customer.email == email)
    if phone:
        lookups.append(Customer.phone == phone)
    customer, customer_found_by = None, None
    for position, condition in enumerate(lookups):
        customer = session.scalar(scoped(Customer, project_id).where(condition).limit(1))
        if customer is not None:
            customer_found_by = position
            break
    identities = {"email": email, "phone": phone}
    if channel in CHANNEL_COLUMNS:
        identities[CHANNEL_COLUMNS[channel]] = str(identity)
    if customer is None:
        customer = Customer(
            project_id=project_id,
            name=name or email or phone or f"{channel} {identity}",
            **{key: value for key, value in identities.items() if value},
        )
        session.add(customer)
    else:
        missing = {k: v for k, v in identities.items() if v and getattr(customer, k) is None}
        _check_identities_free(session, project_id, missing, exclude=customer.id)
        for key, value in missing.items():
            setattr(customer, key, value)
    session.flush()
    # lookups[0] is the channel identity: a customer found by it already has its row
    if channel is not None and channel not in CHANNEL_COLUMNS and customer_found_by != 0:
        session.add(
            ChannelIdentity(
                project_id=project_id,
                customer_id=customer.id,
                channel=channel,
                identity=str(identity),
            )
        )
        session.flush()
    return customer


def _known_on_channel(project_id: uuid.UUID, channel: str, identity: str) -> Any:
    """The condition "this customer is ``identity`` on ``channel``"."""
    if channel in CHANNEL_COLUMNS:
        return getattr(Customer, CHANNEL_COLUMNS[channel]) == identity
    return Customer.id.in_(
        select(ChannelIdentity.customer_id).where(
            ChannelIdentity.project_id == project_id,
            ChannelIdentity.channel == channel,
            ChannelIdentity.identity == identity,
        )
    )


@dataclass
class ImportReport:
    created: int = 0
    errors: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """``(line, {field: [messages]})`` of each row that was not imported."""


def import_customers(
    session: Session,
    ctx: Context,
    rows: Iterable[tuple[int, dict[str, Any]]],
    load: Callable[[dict[str, Any]], dict[str, Any]],
) -> ImportReport:
    """Create a customer per valid row; a bad row is reported by line and the others are kept.

    ``load`` validates one raw row (raising ``marshmallow.ValidationError``); each row is
    created in a savepoint so a duplicate does not undo the rows before it.
    """
    report = ImportReport()
    for line, raw in rows:
        try:
            data = load(raw)
            with session.begin_nested():
                create_customer(session, ctx, data)
        except ValidationError as error:
            report.errors.append((line, error.normalized_messages()))
        except Conflict as error:
            report.errors.append((line, {"_schema": [error.detail]}))
        else:
            report.created += 1
    return report
