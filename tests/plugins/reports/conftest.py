"""Reports tests: a store with orders and messages in January 2025 and December 2024 (the
previous period), seen through the HTTP API by its owner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from plugins.messages.models import Message

JANUARY = {"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-01-31T23:59:59Z"}
# (day, customer, product, quantity, price): January's orders, then December's
JANUARY_ORDERS = (
    ("2025-01-03", "Ana Lima", "Espresso beans", 2, "12.50"),
    ("2025-01-03", "Bruno Costa", "Grinder", 1, "89.90"),
    ("2025-01-10", "Ana Lima", "Espresso beans", 4, "12.50"),
    ("2025-01-21", "Carla Dias", "Milk jug", 3, "7.25"),
)
DECEMBER_ORDERS = (("2024-12-12", "Ana Lima", "Espresso beans", 6, "12.50"),)


class Reporting:
    """One project's reports through the API as its owner."""

    def __init__(self, app, client, api, owner: dict[str, str], project: dict[str, Any]):
        self.app, self.client, self.api = app, client, api
        self.owner, self.project = owner, project
        self.url = f"/api/v1/reports/{project['id']}"

    def order(self, day: str, customer: str, product: str, quantity: int, price: str) -> dict:
        body = {
            "customer_name": customer,
            "order_date": f"{day}T12:00:00Z",
            "items": [{"product_name": product, "quantity": quantity, "price": price}],
        }
        response = self.client.post(
            f"/api/v1/orders/{self.project['id']}", json=body, headers=self.owner
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def orders(self) -> None:
        for row in (*JANUARY_ORDERS, *DECEMBER_ORDERS):
            self.order(*row)

    def messages(self) -> None:
        """Three received messages in January (one answered by the AI after 10 minutes, one
        by a person after 30, one unread) and one in December."""
        project_id = uuid.UUID(self.project["id"])

        def message(when: str, direction: str, provider: str, **extra: Any) -> Message:
            return Message(
                id=uuid.uuid4(),
                project_id=project_id,
                provider=provider,
                direction=direction,
                status="received" if direction == "inbound" else "sent",
                content="hello",
                created_at=datetime.fromisoformat(when).replace(tzinfo=UTC),
                **extra,
            )

        with self.app.app_context(), self.app.extensions["nebulo"].db.session_scope() as s:
            asked = message("2025-01-05T09:00:00", "inbound", "whatsapp", is_read=True)
            other = message("2025-01-06T09:00:00", "inbound", "telegram", is_read=True)
            unread = message("2025-01-07T09:00:00", "inbound", "whatsapp")
            old = message("2024-12-20T09:00:00", "inbound", "whatsapp", is_read=True)
            s.add_all([asked, other, unread, old])
            s.flush()
            s.add_all(
                [
                    message(
                        "2025-01-05T09:10:00",
                        "outbound",
                        "whatsapp",
                        reply_to_id=asked.id,
                        ai_generated=True,
                    ),
                    message("2025-01-06T09:30:00", "outbound", "telegram", reply_to_id=other.id),
                ]
            )

    def generate(self, status: int = 201, headers: dict | None = None, **body: Any) -> dict:
        response = self.client.post(
            f"{self.url}/generate", json={**JANUARY, **body}, headers=headers or self.owner
        )
        assert response.status_code == status, response.get_json()
        return response.get_json()

    def get(self, path: str = "", status: int = 200, **params: Any):
        response = self.client.get(f"{self.url}{path}", query_string=params, headers=self.owner)
        assert response.status_code == status, response.get_data(as_text=True)[:500]
        return response

    def headers_of(self, role: str, project: dict | None = None) -> dict[str, str]:
        user = self.api.register()
        response = self.client.post(
            f"/api/v1/projects/{(project or self.project)['id']}/members",
            json={"email": user["email"], "role": role},
            headers=self.owner,
        )
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {self.api.login(user['email'])['access_token']}"}


@pytest.fixture
def reporting(app, client, api, owner, project) -> Reporting:
    return Reporting(app, client, api, owner, project)


@pytest.fixture
def sales(reporting) -> dict:
    """January's sales report of a store with the orders above."""
    reporting.orders()
    return reporting.generate(report_type="sales")
