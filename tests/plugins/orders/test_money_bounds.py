"""Amounts are bounded by what the amount columns hold (NUMERIC(14,2) on PostgreSQL, integer
cents on SQLite): a larger price, line total or order total is a 422 with nothing stored."""

from __future__ import annotations

import pytest

from tests.core.helpers import assert_error

LARGEST = 999999999999.99


@pytest.mark.parametrize("price", [1e28, 1e300, "1e30", 1000000000000])
def test_422_for_a_price_beyond_what_the_column_holds(client, owner, project, price):
    url = f"/api/v1/catalog/{project['id']}/products"
    response = client.post(url, json={"name": "Tea", "price": price}, headers=owner)
    assert "price" in assert_error(response, 422)["errors"]
    assert client.get(url, headers=owner).get_json() == []


def test_the_largest_price_is_stored_exactly(client, owner, project):
    url = f"/api/v1/catalog/{project['id']}/products"
    response = client.post(url, json={"name": "Tea", "price": LARGEST}, headers=owner)
    assert response.status_code == 201 and response.get_json()["price"] == LARGEST


def test_422_for_a_line_total_beyond_what_the_column_holds(client, owner, project):
    url = f"/api/v1/orders/{project['id']}"
    items = [{"name": "Tea", "quantity": 1_000_000, "price": LARGEST}]
    response = client.post(url, json={"customer_name": "Ada", "items": items}, headers=owner)
    body = assert_error(response, 422)
    assert body["errors"] == {"items": {"0": {"quantity": [f"The line's total exceeds {LARGEST}"]}}}
    assert client.get(url, headers=owner).get_json() == []


def test_422_for_an_order_total_beyond_what_the_column_holds(client, owner, project):
    url = f"/api/v1/orders/{project['id']}"
    item = {"name": "Tea", "quantity": 1, "price": LARGEST}
    response = client.post(url, json={"customer_name": "Ada", "items": [item, item]}, headers=owner)
    assert "items" in assert_error(response, 422)["errors"]
    assert client.get(url, headers=owner).get_json() == []


def test_422_for_items_that_would_take_an_order_beyond_the_largest_total(client, owner, project):
    url = f"/api/v1/orders/{project['id']}"
    item = {"name": "Tea", "quantity": 1, "price": LARGEST}
    order = client.post(url, json={"customer_name": "Ada", "items": [item]}, headers=owner)
    assert order.status_code == 201
    bulk = f"{url}/{order.get_json()['id']}/items/bulk"
    assert_error(client.post(bulk, json={"items": [item]}, headers=owner), 422)
    stored = client.get(f"{url}/{order.get_json()['id']}", headers=owner).get_json()
    assert stored["total"] == LARGEST and len(stored["items"]) == 1
