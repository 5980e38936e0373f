"""Analytics tests: a project with a sales history, seen through the API and the services."""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.jobs import Job, wait_for_jobs
from plugins.analytics import sales
from plugins.orders.importing import NewOrder, bulk_insert_orders
from plugins.orders.services import ItemLine

WEEKDAY_RHYTHM = (0.6, 0.7, 0.8, 1.0, 1.3, 1.8, 1.4)  # Monday .. Sunday
HABITS = {
    # name prefix: (customers, visits per 30 days, basket, days since their last visit)
    "Regular": (12, 8.0, 40, 1),
    "Big": (6, 3.0, 200, 3),
    "Casual": (12, 1.0, 25, 10),
    "Gone": (10, 0.5, 30, 90),
}


def sales_history(days: int, seed: int = 7, end: datetime | None = None) -> list[NewOrder]:
    """Orders of ``days`` days up to yesterday: a weekly rhythm, slow growth, and customers
    with four habits (regular, big spender, casual, gone) so that segments differ."""
    rng = random.Random(seed)
    end = end or datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    orders = []
    for prefix, (count, visits, basket, last_seen) in HABITS.items():
        for number in range(count):
            name = f"{prefix} Customer {number}"
            latest = last_seen + rng.randint(0, 3)
            for day in range(latest, days):
                if day == latest or rng.random() < visits / 30:
                    amount = max(1, round(rng.gauss(basket, basket / 5)))
                    orders.append(_order(end - timedelta(days=day), name, amount))
    for day in range(1, days):  # walk-ins carry the weekly rhythm
        moment = end - timedelta(days=day)
        level = 400 * WEEKDAY_RHYTHM[moment.weekday()] * (1 + 0.002 * (days - day))
        level *= 1 + 0.05 * math.sin(day)
        orders.append(_order(moment, None, round(rng.gauss(level, level / 20))))
    return orders


def _order(moment: datetime, customer: str | None, amount: int) -> NewOrder:
    return NewOrder(
        order_date=moment,
        lines=[ItemLine("Coffee", 1, Decimal(amount))],
        customer_name=customer,
    )


class Shop:
    """A project with orders, reached through the API as its owner and through services."""

    def __init__(self, app, client, api, owner: dict[str, str], project: dict[str, Any]):
        self.app, self.client, self.api, self.owner = app, client, api, owner
        self.project = project
        self.project_id = uuid.UUID(project["id"])
        self.url = f"/api/v1/analytics/{project['id']}"

    def add_orders(self, orders: list[NewOrder]) -> None:
        with self.app.app_context(), self.app.extensions["nebulo"].db.session_scope() as session:
            bulk_insert_orders(session, self.project_id, orders)

    def call(self, function, *args: Any, **kwargs: Any) -> Any:
        """A service function in its own committed transaction, as the project itself."""
        with self.app.app_context(), self.app.extensions["nebulo"].db.session_scope() as session:
            return function(session, sales.system_context(self.project_id), *args, **kwargs)

    def fit(self) -> dict[str, Any]:
        with self.app.app_context(), self.app.extensions["nebulo"].db.session_scope() as session:
            row = sales.fit_sales_forecast(session, sales.system_context(self.project_id))
            return sales.describe(session, row)

    def job(self, job_id: str) -> Job:
        wait_for_jobs(self.app, timeout=120)
        with self.app.app_context(), self.app.extensions["nebulo"].db.session_scope() as session:
            job = session.get(Job, uuid.UUID(job_id))
            session.expunge(job)
            return job

    def headers_of(self, role: str) -> dict[str, str]:
        user = self.api.register()
        response = self.client.post(
            f"/api/v1/projects/{self.project['id']}/members",
            json={"email": user["email"], "role": role},
            headers=self.owner,
        )
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {self.api.login(user['email'])['access_token']}"}


@pytest.fixture
def shop(app, client, api, owner, project) -> Shop:
    return Shop(app, client, api, owner, project)
