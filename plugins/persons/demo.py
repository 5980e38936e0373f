"""Demo data: about 300 visitors over the past 30 days, a third of them back at least once
(a few regulars often, at their usual table), carts at tables, and a spread of ages,
genders, moods and builds."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.db import utcnow
from plugins.orders.importing import NewOrder, bulk_insert_orders
from plugins.orders.models import Product
from plugins.orders.services import ItemLine
from plugins.persons.models import VECTOR_SIZE, Person, Visit

VISITORS = 300
DAYS = 30
RETURNING_SHARE = 0.35
REGULAR_SHARE = 0.05
CART_SHARE = 0.45
TABLES = 12
GENDERS = (("Female", 48), ("Male", 48), ("Unknown", 4))
EMOTIONS = (("Happy", 40), ("Neutral", 35), ("Surprised", 10), ("Sad", 8), ("Angry", 7))
BODY_TYPES = (("Average", 45), ("Slim", 25), ("Athletic", 18), ("Heavy", 12))
NAMED = ("Dilnoza Karimova", "Aziz Rakhimov", "Maria Rossi", "John Doe", "Sofia Lindqvist")


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in weighted], [w for _, w in weighted])[0]


def load_demo_persons(session: Session, project_id: uuid.UUID) -> None:
    """Persons with face vectors, their visits and their carts (orders at tables)."""
    rng = random.Random(4004)
    faces = np.random.default_rng(4004)
    products = session.scalars(
        select(Product).where(Product.project_id == project_id, Product.deleted_at.is_(None))
    ).all()
    now = utcnow()
    person_rows, visit_rows, carts = [], [], []
    for number in range(VISITORS):
        person_id = uuid.uuid4()
        kind = rng.random()
        times = (
            rng.randint(6, 14)
            if kind < REGULAR_SHARE
            else rng.randint(2, 4)
            if kind < RETURNING_SHARE
            else 1
        )
        moments = sorted(_moment(rng, now) for _ in range(times))
        vector = faces.normal(size=VECTOR_SIZE).astype("<f4")
        seen = {
            "age": max(6, min(85, int(rng.gauss(34, 13)))),
            "gender": _pick(rng, GENDERS),
            "body_type": _pick(rng, BODY_TYPES),
        }
        usual_table = rng.randint(1, TABLES)
        for index, entry in enumerate(moments):
            exit_time = entry + timedelta(minutes=rng.randint(15, 120))
            emotion = _pick(rng, EMOTIONS)
            visit_rows.append(
                {
                    "id": uuid.uuid4(),
                    "project_id": project_id,
                    "person_id": person_id,
                    "entry_time": entry,
                    "exit_time": exit_time,
                    "is_returning": index > 0,
                    "similarity": round(rng.uniform(0.93, 0.99), 3) if index else None,
                    "emotion": emotion,
                    **seen,
                }
            )
            if products and rng.random() < CART_SHARE:
                table = usual_table if rng.random() < 0.7 else rng.randint(1, TABLES)
                carts.append(_cart(rng, products, person_id, table, entry, exit_time, now))
        person_rows.append(
            {
                "id": person_id,
                "project_id": project_id,
                "full_name": NAMED[number] if number < len(NAMED) else None,
                "phone_number": None,
                "emotion": emotion,
                "vector": (vector / np.linalg.norm(vector)).astype("<f4").tobytes(),
                "image_key": None,
                "biometrics_at": moments[0],
                "entry_time": moments[-1],
                "exit_time": exit_time,
                "created_at": moments[0],
                "updated_at": moments[-1],
                **seen,
            }
        )
    session.execute(insert(Person.__table__), person_rows)
    session.execute(insert(Visit.__table__), visit_rows)
    carts.sort(key=lambda cart: cart.order_date)
    bulk_insert_orders(session, project_id, carts)


def _moment(rng: random.Random, now: datetime) -> datetime:
    """A time in opening hours (10:00-22:00) on one of the past 30 days, not in the future."""
    day = (now - timedelta(days=rng.randint(0, DAYS - 1))).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    moment = day + timedelta(minutes=rng.randint(0, 12 * 60))
    return min(moment, now - timedelta(minutes=rng.randint(1, 600))).astimezone(UTC)


def _cart(
    rng: random.Random,
    products: list[Product],
    person_id: uuid.UUID,
    table: int,
    entry: datetime,
    exit_time: datetime,
    now: datetime,
) -> NewOrder:
    chosen = {product.id: product for product in rng.sample(products, rng.randint(1, 3))}
    lines = [ItemLine(p.name, rng.choice((1, 1, 2)), p.price, p.id, p.sku) for p in chosen.values()]
    open_now = exit_time > now
    return NewOrder(
        order_date=entry + timedelta(minutes=rng.randint(3, 10)),
        lines=lines,
        status="pending" if open_now else "fulfilled",
        provider="pos",
        fulfilled_date=None if open_now else exit_time,
        person_id=person_id,
        table_number=table,
    )
