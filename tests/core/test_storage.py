"""Storage helpers: exact money on both databases, bulk inserts through the column types."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import insert_rows, money_as_float
from core.projects.models import Project
from plugins.customers.models import Customer

CUSTOMERS = Customer.__table__


@pytest.fixture
def session(app):
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        project = Project(name="Storage")
        session.add(project)
        session.flush()
        yield session, project.id


def test_insert_rows_applies_each_columns_type_and_the_constants(session):
    session, project_id = session
    at = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)
    ids = [uuid.uuid4(), uuid.uuid4()]
    insert_rows(
        session,
        CUSTOMERS,
        ("id", "name", "balance", "credit_card"),
        [(ids[0], "Ana", Decimal("1234.56"), True), (ids[1], "Bo", None, None)],
        constants={"project_id": project_id, "created_at": at, "last_updated": at},
    )
    rows = session.execute(
        select(
            Customer.id, Customer.name, Customer.balance, Customer.credit_card, Customer.created_at
        )
        .where(Customer.project_id == project_id)
        .order_by(Customer.name)
    ).all()
    assert [tuple(row) for row in rows] == [
        (ids[0], "Ana", Decimal("1234.56"), True, at),
        (ids[1], "Bo", None, None, at),
    ]


def test_insert_rows_of_nothing_writes_nothing(session):
    session, project_id = session
    insert_rows(session, CUSTOMERS, ("id", "name"), [], constants={"project_id": project_id})
    assert session.scalar(select(func.count()).select_from(CUSTOMERS)) == 0


def test_money_is_exact_and_reads_as_the_same_float(session):
    session, project_id = session
    amounts = [Decimal("0.10"), Decimal("0.20"), Decimal("99999999.99"), Decimal("-5.05")]
    for index, amount in enumerate(amounts):
        session.add(Customer(project_id=project_id, name=f"c{index}", balance=amount))
    session.flush()
    total = session.scalar(
        select(func.sum(Customer.balance)).where(Customer.project_id == project_id)
    )
    assert Decimal(total) == sum(amounts)
    floats = session.scalars(select(money_as_float(Customer.balance)).order_by(Customer.name)).all()
    assert floats == [float(amount) for amount in amounts]
