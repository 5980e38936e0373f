"""Memberships tests: one project seen through the HTTP API, with customers and memberships."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

TODAY = date.today()


def day(offset: int) -> str:
    """The ISO date ``offset`` days from today."""
    return (TODAY + timedelta(days=offset)).isoformat()


class Club:
    """A project's customers and memberships, through the API as its owner."""

    def __init__(self, client, api, owner: dict[str, str], project: dict[str, Any]):
        self.client, self.api, self.owner, self.project = client, api, owner, project
        self.url = f"/api/v1/memberships/{project['id']}"

    def customer(self, name: str, project: dict | None = None, **extra: Any) -> str:
        project_id = (project or self.project)["id"]
        response = self.client.post(
            f"/api/v1/customers/{project_id}", json={"name": name, **extra}, headers=self.owner
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def add(self, customer_id: str, start: int = -10, end: int = 100, tier: str = "gold"):
        """POST a membership from ``start`` to ``end`` days from today; the response."""
        body = {
            "customer_id": customer_id,
            "start_period": day(start),
            "end_period": day(end),
            "tier": tier,
        }
        return self.client.post(self.url, json=body, headers=self.owner)

    def member(self, customer_id: str, **period: Any) -> dict:
        response = self.add(customer_id, **period)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

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
def club(client, api, owner, project) -> Club:
    return Club(client, api, owner, project)
