"""The risk-history key migration keeps every point, both ways."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from core.projects.models import Project
from plugins.customers.models import Customer
from tests.core.test_migrations import fresh_app, nebulo  # noqa: F401 - the fixture

HISTORY_POINT = "SELECT score, timestamp, customer_id FROM customer_risk_history ORDER BY score"


def _seed_history(engine: sa.Engine) -> uuid.UUID:
    project, customer = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(sa.insert(Project.__table__).values(id=project, name="P"))
        connection.execute(
            sa.insert(Customer.__table__).values(id=customer, project_id=project, name="Ana")
        )
        for score, at in ((0.25, "2026-11-02 10:00:00"), (0.75, "2026-11-03 10:00:00")):
            connection.execute(
                sa.text(
                    "INSERT INTO customer_risk_history (id, project_id, customer_id, score, "
                    "timestamp) VALUES (:id, :project, :customer, :score, :at)"
                ),
                {
                    "id": uuid.uuid4().hex,
                    "project": project.hex,
                    "customer": customer.hex,
                    "score": score,
                    "at": at,
                },
            )
    return customer


def test_risk_history_keeps_its_points_through_the_key_change(fresh_app):  # noqa: F811
    engine = fresh_app.extensions["nebulo"].db.engine
    nebulo(fresh_app, "db", "upgrade", "0001_customers")
    _seed_history(engine)
    with engine.connect() as connection:
        before = connection.execute(sa.text(HISTORY_POINT)).all()
    nebulo(fresh_app, "db", "upgrade")
    with engine.connect() as connection:
        assert connection.execute(sa.text(HISTORY_POINT)).all() == before
        keys = connection.execute(
            sa.text("SELECT id FROM customer_risk_history ORDER BY timestamp")
        ).scalars()
        assert list(keys) == [1, 2]
    nebulo(fresh_app, "db", "downgrade", "0001_customers")
    with engine.connect() as connection:
        assert connection.execute(sa.text(HISTORY_POINT)).all() == before
        keys = connection.execute(sa.text("SELECT id FROM customer_risk_history")).scalars()
        assert all(len(str(key).replace("-", "")) == 32 for key in keys)
