"""Helpers for the orders tests: URLs, catalog products and members with a given role."""

from __future__ import annotations

from typing import Any

import pytest

UNLIMITED_CREATES = {"plugin": {"NEBULO_RATE_LIMIT_CREATE_ORDER": "100000/minute"}}


class Store:
    """One project seen through the HTTP API by its owner."""

    def __init__(self, client, api, owner: dict[str, str], project: dict[str, Any]):
        self.client, self.api, self.owner, self.project = client, api, owner, project
        self.orders = f"/api/v1/orders/{project['id']}"
        self.catalog = f"/api/v1/catalog/{project['id']}"

    def product(
        self, name: str = "Widget A", price: float = 9.99, stock: int = 10, **extra: Any
    ) -> dict:
        response = self.client.post(
            f"{self.catalog}/products",
            json={"name": name, "price": price, "stock": stock, **extra},
            headers=self.owner,
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def order(
        self, body: dict | None = None, headers: dict | None = None, status: int = 201
    ) -> dict:
        body = body or {
            "customer_name": "John Doe",
            "items": [{"product_name": "Gadget", "quantity": 1, "price": 5}],
        }
        response = self.client.post(self.orders, json=body, headers=headers or self.owner)
        assert response.status_code == status, response.get_json()
        return response.get_json()

    def stock(self, product_id: str) -> int:
        return self.client.get(
            f"{self.catalog}/products/{product_id}", headers=self.owner
        ).get_json()["stock"]

    def member(self, role: str) -> dict[str, str]:
        user = self.api.register()
        response = self.client.post(
            f"/api/v1/projects/{self.project['id']}/members",
            json={"email": user["email"], "role": role},
            headers=self.owner,
        )
        assert response.status_code == 201, response.get_json()
        tokens = self.api.login(user["email"])
        return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def store(client, api, owner, project) -> Store:
    return Store(client, api, owner, project)
