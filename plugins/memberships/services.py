"""Memberships and tiers: the one place that creates, changes, checks and counts them.

Routes, assistant tools, the expiry job, the CLI, the order check and the demo all call these
functions. Customers are reached only through the customers plugin's public services. Days
(periods, "today", an order's date) are days in the project's time zone.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, false, select, update
from sqlalchemy.orm import Session

from core.config import setting
from core.context import Context
from core.db import get_scoped, scoped, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.events import publish
from core.metrics.engine import project_timezone, run_query
from core.metrics.periods import day, today_in
from core.metrics.query import MetricQuery
from core.projects.models import Project
from plugins.customers import services as customer_services
from plugins.memberships.models import Membership, MembershipTier

DEFAULT_TIERS = ("bronze", "silver", "gold", "platinum")
MAX_NAMED = 10
"""At most this many memberships (in a 409) or candidate customers are named."""
DEMO_SHARE = 0.4
"""The share of the demo customers that get memberships."""


def parse_tier_list(value: str) -> tuple[str, ...]:
    """``"bronze, silver"`` -> ``("bronze", "silver")``: lower case, unique, at least one."""
    names = tuple(name.strip().lower() for name in value.split(",") if name.strip())
    if not names or len(set(names)) != len(names):
        raise ValueError("give one or more different tier names, separated by commas")
    return names


def default_tiers() -> tuple[str, ...]:
    return setting("NEBULO_MEMBERSHIP_TIERS")


def project_today(session: Session, project_id: uuid.UUID) -> date:
    return today_in(project_timezone(session, project_id))


# ---- tiers ---------------------------------------------------------------------------------


def list_tiers(session: Session, ctx: Context) -> list[str]:
    """The project's tiers in their order; the default list until an admin changes it."""
    names = session.scalars(
        select(MembershipTier.name)
        .where(MembershipTier.project_id == ctx.project_id)
        .order_by(MembershipTier.position)
    ).all()
    return list(names) if names else list(default_tiers())


def replace_tiers(session: Session, ctx: Context, names: Sequence[str]) -> list[str]:
    """Make ``names`` the project's tier list; 409 naming the memberships of a removed tier."""
    removed = set(list_tiers(session, ctx)) - set(names)
    if removed:
        in_use = session.scalars(
            scoped(Membership, ctx.project_id)
            .where(Membership.tier.in_(removed))
            .order_by(Membership.tier, Membership.start_period, Membership.id)
        ).all()
        if in_use:
            raise Conflict(
                f"Tier {', '.join(sorted({m.tier for m in in_use}))} is still used by "
                f"membership {_named(in_use)}; change or delete those memberships first"
            )
    session.execute(delete(MembershipTier).where(MembershipTier.project_id == ctx.project_id))
    session.add_all(
        MembershipTier(project_id=ctx.project_id, name=name, position=position)
        for position, name in enumerate(names)
    )
    session.flush()
    return list(names)


def _named(memberships: Sequence[Membership]) -> str:
    named = ", ".join(str(m.id) for m in memberships[:MAX_NAMED])
    more = len(memberships) - MAX_NAMED
    return f"{named} and {more} more" if more > 0 else named


# ---- memberships ---------------------------------------------------------------------------


def list_memberships(session: Session, ctx: Context, args: dict[str, Any]) -> Select:
    """Memberships filtered by customer, tier and status on today's date, newest period first."""
    statement = scoped(Membership, ctx.project_id)
    if "customer_id" in args:
        statement = statement.where(Membership.customer_id == args["customer_id"])
    if "tier" in args:
        statement = statement.where(Membership.tier == args["tier"])
    if "status" in args:
        today = project_today(session, ctx.project_id)
        statement = statement.where(
            {
                "upcoming": Membership.start_period > today,
                "active": (Membership.start_period <= today) & (Membership.end_period >= today),
                "ended": Membership.end_period < today,
            }[args["status"]]
        )
    return statement.order_by(Membership.start_period.desc(), Membership.id)


def get_membership(session: Session, ctx: Context, membership_id: uuid.UUID) -> Membership:
    return get_scoped(session, Membership, ctx.project_id, membership_id, what="Membership")


def create_membership(session: Session, ctx: Context, data: dict[str, Any]) -> Membership:
    """Add a membership: a customer of the project, a known tier, end after start, no overlap
    with the customer's other memberships (409 naming the one it overlaps)."""
    _lock_customer(session, ctx, data["customer_id"])
    membership = Membership(id=uuid.uuid4(), project_id=ctx.project_id, **data)
    _check(session, ctx, membership)
    session.add(membership)
    session.flush()
    publish(session, "membership.created", ctx.project_id, membership_payload(membership))
    return membership


def update_membership(
    session: Session, ctx: Context, membership_id: uuid.UUID, changes: dict[str, Any]
) -> Membership:
    """Change the period or tier under the same rules; a period moved past today reopens an
    expired membership."""
    membership = get_membership(session, ctx, membership_id)
    _lock_customer(session, ctx, membership.customer_id)
    for name, value in changes.items():
        setattr(membership, name, value)
    _check(session, ctx, membership)
    if membership.expired_at and membership.end_period >= project_today(session, ctx.project_id):
        membership.expired_at = None
    session.flush()
    return membership


def delete_membership(session: Session, ctx: Context, membership_id: uuid.UUID) -> None:
    session.delete(get_membership(session, ctx, membership_id))
    session.flush()


def _lock_customer(session: Session, ctx: Context, customer_id: uuid.UUID) -> None:
    """Check the customer is the project's (else 422) and lock their row, so that two
    concurrent writes of one customer's memberships cannot both pass the overlap check.

    SQLite ignores ``FOR UPDATE``; there the first write of a transaction takes the file's
    one writer turn (core.sqlite_writers), so a write that changes nothing is the lock."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Membership).where(false()).values(tier=Membership.tier))
    try:
        customer = customer_services.get_customer(session, ctx, customer_id)
    except NotFound:
        raise Invalid(errors={"customer_id": [f"Unknown customer {customer_id}"]}) from None
    session.refresh(customer, with_for_update=True)


def _check(session: Session, ctx: Context, membership: Membership) -> None:
    if membership.end_period <= membership.start_period:
        raise Invalid(errors={"end_period": ["Must be after start_period"]})
    tiers = list_tiers(session, ctx)
    if membership.tier not in tiers:
        raise Invalid(
            errors={"tier": [f"Unknown tier {membership.tier!r}; one of: {', '.join(tiers)}"]}
        )
    overlapping = session.scalar(
        scoped(Membership, ctx.project_id)
        .where(
            Membership.customer_id == membership.customer_id,
            Membership.id != membership.id,
            Membership.start_period <= membership.end_period,
            Membership.end_period >= membership.start_period,
        )
        .order_by(Membership.start_period)
        .limit(1)
    )
    if overlapping is not None:
        raise Conflict(
            f"The customer's membership {overlapping.id} ({overlapping.tier}, "
            f"{overlapping.start_period} to {overlapping.end_period}) overlaps this period"
        )


def membership_payload(membership: Membership) -> dict[str, Any]:
    """What events say about a membership."""
    return {
        "membership_id": membership.id,
        "customer_id": membership.customer_id,
        "tier": membership.tier,
        "start_period": membership.start_period.isoformat(),
        "end_period": membership.end_period.isoformat(),
    }


# ---- orders --------------------------------------------------------------------------------


def check_order_membership(session: Session, order: Any) -> None:
    """An order's ``membership_id`` must be the order's customer's, active on the order's day
    (422 naming ``membership_id`` otherwise); orders without one are not concerned."""
    if order.membership_id is None:
        return
    membership = session.get(Membership, order.membership_id)
    if membership is None or membership.project_id != order.project_id:
        raise Invalid(errors={"membership_id": [f"Unknown membership {order.membership_id}"]})
    if order.customer_id is None:
        raise Invalid(errors={"membership_id": ["An order with a membership needs its customer"]})
    if membership.customer_id != order.customer_id:
        raise Invalid(
            errors={"membership_id": ["The membership belongs to another customer than the order"]}
        )
    zone = ZoneInfo(project_timezone(session, order.project_id))
    order_day = (order.order_date or utcnow()).astimezone(zone).date()
    if membership.status_on(order_day) != "active":
        raise Invalid(
            errors={
                "membership_id": [
                    f"The membership runs from {membership.start_period} to "
                    f"{membership.end_period}, not on the order's date {order_day}"
                ]
            }
        )


# ---- expiry --------------------------------------------------------------------------------


def expire_memberships(session: Session) -> int:
    """Mark every membership whose end has passed (in its project's time zone) as expired and
    publish ``membership.expired`` for it, once: a second run finds nothing to do."""
    latest_today = (utcnow() + timedelta(days=1)).date()
    candidates = session.execute(
        select(Membership, Project.timezone)
        .join(Project, Project.id == Membership.project_id)
        .where(Membership.expired_at.is_(None), Membership.end_period < latest_today)
        .with_for_update(of=Membership, skip_locked=True)
    ).all()
    expired = 0
    now = utcnow()
    for membership, timezone in candidates:
        if membership.end_period >= today_in(timezone or "UTC"):
            continue
        membership.expired_at = now
        publish(
            session, "membership.expired", membership.project_id, membership_payload(membership)
        )
        expired += 1
    session.flush()
    return expired


# ---- figures for the assistant -------------------------------------------------------------


def current_membership(session: Session, ctx: Context, customer_id: uuid.UUID) -> Membership | None:
    """The customer's membership active today, if any."""
    today = project_today(session, ctx.project_id)
    return session.scalar(
        scoped(Membership, ctx.project_id).where(
            Membership.customer_id == customer_id,
            Membership.start_period <= today,
            Membership.end_period >= today,
        )
    )


def customer_tier(session: Session, ctx: Context, name: str) -> dict[str, Any]:
    """The tier today of the customer called ``name``; several matches give the candidates."""
    statement = customer_services.list_customers(ctx, {"search": name.strip(), "sort_by": "name"})
    candidates = session.scalars(statement.limit(MAX_NAMED + 1)).all()
    exact = [c for c in candidates if c.name.lower() == name.strip().lower()]
    if len(exact) == 1:
        candidates = exact
    if not candidates:
        raise NotFound(f"No customer matches {name!r}")
    if len(candidates) > 1:
        return {
            "ambiguous": True,
            "candidates": [
                {"customer_id": str(c.id), "name": c.name, "email": c.email}
                for c in candidates[:MAX_NAMED]
            ],
        }
    [customer] = candidates
    membership = current_membership(session, ctx, customer.id)
    return {
        "customer_id": str(customer.id),
        "name": customer.name,
        "member": membership is not None,
        "tier": membership.tier if membership else None,
        "membership_id": str(membership.id) if membership else None,
        "end_period": membership.end_period.isoformat() if membership else None,
    }


def active_members_by_tier(session: Session, ctx: Context) -> dict[str, int]:
    """How many customers hold an active membership today, per tier (every tier listed): the
    ``active_members`` metric by ``tier``, so the assistant says what the metrics API says."""
    today = project_today(session, ctx.project_id)
    query = MetricQuery(("active_members",), day(today), group_by=("tier",))
    counts = {row["tier"]: row["active_members"] for row in run_query(session, ctx, query).rows}
    return {tier: counts.pop(tier, 0) for tier in list_tiers(session, ctx)} | counts


# ---- demo ----------------------------------------------------------------------------------


def load_demo_memberships(session: Session, project_id: uuid.UUID, seed: int = 17) -> int:
    """Memberships for a share of the demo customers: some ended, most active, a few upcoming."""
    ctx = Context(project_id=project_id, permissions=frozenset())
    customers = session.scalars(customer_services.list_customers(ctx, {"sort_by": "id"})).all()
    chooser = random.Random(seed)
    chosen = chooser.sample(list(customers), int(len(customers) * DEMO_SHARE))
    today = project_today(session, project_id)
    tiers = list_tiers(session, ctx)
    weights = [len(tiers) - position for position in range(len(tiers))]
    memberships = [
        _demo_membership(chooser, project_id, customer.id, today, tiers, weights)
        for customer in chosen
    ]
    session.add_all(memberships)
    session.flush()
    _link_demo_orders(session, project_id, memberships)
    return len(memberships)


def _link_demo_orders(
    session: Session, project_id: uuid.UUID, memberships: Iterable[Membership]
) -> None:
    """The demo's orders were made before its memberships: those a member placed during their
    membership carry it, as the order check sets it for a new order, so member revenue has
    figures."""
    from plugins.orders.models import Order

    zone = ZoneInfo(project_timezone(session, project_id))
    for membership in memberships:
        start = datetime.combine(membership.start_period, time.min, tzinfo=zone)
        end = datetime.combine(membership.end_period + timedelta(days=1), time.min, tzinfo=zone)
        session.execute(
            update(Order)
            .where(
                Order.project_id == project_id,
                Order.customer_id == membership.customer_id,
                Order.order_date >= start.astimezone(UTC),
                Order.order_date < end.astimezone(UTC),
            )
            .values(membership_id=membership.id)
        )


def _demo_membership(
    chooser: random.Random,
    project_id: uuid.UUID,
    customer_id: uuid.UUID,
    today: date,
    tiers: Iterable[str],
    weights: list[int],
) -> Membership:
    start = today - timedelta(days=chooser.randint(-30, 400))
    end = start + timedelta(days=chooser.choice((90, 180, 365)))
    created = datetime.combine(min(start, today), datetime.min.time(), tzinfo=utcnow().tzinfo)
    return Membership(
        project_id=project_id,
        customer_id=customer_id,
        start_period=start,
        end_period=end,
        tier=chooser.choices(list(tiers), weights)[0],
        created_at=created,
        updated_at=created,
    )
