"""The orders list page is one statement (orders, total, items as JSON) dumped by a compiled
form of OrderSchema: it must say exactly what the one-order endpoint (plain marshmallow) says,
page after page, on both databases."""

from __future__ import annotations

import json

import pytest
from marshmallow import Schema, fields, post_dump

from plugins.orders.listing import compile_dumper
from plugins.orders.models import OrderItem
from tests.plugins.orders.conftest import UNLIMITED_CREATES


def _create_orders(store, client, count: int) -> None:
    for index in range(count):
        body = {
            "customer_name": f"Buyer {index}",
            "customer_email": f"buyer{index}@example.com",
            "provider": "shopify" if index % 2 else "manual",
            "items": [
                {"name": f"Item {index}-{line}", "quantity": 1 + line, "price": 1.25 + line}
                for line in range(index % 4 + 1)
            ],
        }
        response = client.post(store.orders, json=body, headers=store.owner)
        assert response.status_code == 201, response.get_json()


def test_every_order_of_every_page_is_the_one_order_view(store, make_app):
    client = make_app(**UNLIMITED_CREATES).test_client()
    _create_orders(store, client, 7)
    seen = []
    for page in (1, 2, 3):
        response = client.get(f"{store.orders}?page={page}&page_size=3", headers=store.owner)
        assert response.status_code == 200
        for order in response.get_json():
            single = client.get(f"{store.orders}/{order['id']}", headers=store.owner)
            assert order == single.get_json()
            assert [item["name"] for item in order["items"]] == [
                f"Item {order['customer_name'].split()[1]}-{line}"
                for line in range(len(order["items"]))
            ]
            seen.append(order["number"])
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_awkward_amounts_and_catalog_items_are_the_one_order_view(store, make_app):
    """Amounts travel as floats inside the items' JSON: each must be the float of its exact
    cents, as marshmallow writes it; a catalog product's id comes back as a UUID string."""
    client = make_app(**UNLIMITED_CREATES).test_client()
    product = store.product("Catalog thing", price=0.07, stock=1000)
    prices = [0.01, 0.07, 0.1, 0.29, 19.99, 1234567.89, 3, 99999999.99]
    for price in prices:
        body = {
            "customer_name": "Exact Buyer",
            "items": [
                {"name": "Free text", "quantity": 3, "price": price},
                {"product_id": product["id"], "quantity": 7},
            ],
        }
        assert client.post(store.orders, json=body, headers=store.owner).status_code == 201
    listed = client.get(f"{store.orders}?sort_by=total&order=asc", headers=store.owner)
    assert len(listed.get_json()) == len(prices)
    for order in listed.get_json():
        assert order == client.get(f"{store.orders}/{order['id']}", headers=store.owner).get_json()
        assert order["items"][1]["product_id"] == product["id"]
        assert isinstance(order["items"][0]["unit_price"], float)
    assert sorted(order["items"][0]["unit_price"] for order in listed.get_json()) == sorted(prices)


def test_pagination_header_says_the_same_by_page_and_by_offset(store, make_app):
    client = make_app(**UNLIMITED_CREATES).test_client()
    _create_orders(store, client, 5)
    by_page = client.get(f"{store.orders}?page=2&page_size=2", headers=store.owner)
    by_offset = client.get(f"{store.orders}?offset=2&limit=2", headers=store.owner)
    assert by_page.get_json() == by_offset.get_json()
    assert [order["number"] for order in by_page.get_json()] == [3, 2]
    assert json.loads(by_page.headers["X-Pagination"]) == {
        "total": 5,
        "total_pages": 3,
        "page": 2,
        "page_size": 2,
        "offset": 2,
        "next_page": 3,
        "previous_page": 1,
    }
    last = client.get(f"{store.orders}?page=3&page_size=2", headers=store.owner)
    assert [order["number"] for order in last.get_json()] == [1]
    assert json.loads(last.headers["X-Pagination"])["next_page"] is None


def test_an_empty_project_has_an_empty_first_page(store):
    response = store.client.get(store.orders, headers=store.owner)
    assert response.status_code == 200 and response.get_json() == []
    assert json.loads(response.headers["X-Pagination"])["total"] == 0


def test_total_counts_only_the_filtered_orders(store, make_app):
    client = make_app(**UNLIMITED_CREATES).test_client()
    _create_orders(store, client, 5)
    response = client.get(f"{store.orders}?provider=shopify&page_size=1", headers=store.owner)
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total"] == 2 and pagination["total_pages"] == 2
    assert [order["provider"] for order in response.get_json()] == ["shopify"]


def test_a_page_past_the_end_is_empty_with_the_right_total(store, make_app):
    client = make_app(**UNLIMITED_CREATES).test_client()
    _create_orders(store, client, 2)
    response = client.get(f"{store.orders}?page=5", headers=store.owner)
    assert response.status_code == 200 and response.get_json() == []
    assert json.loads(response.headers["X-Pagination"])["total"] == 2


def test_compiled_dumper_refuses_a_schema_with_dump_hooks():
    class Hooked(Schema):
        name = fields.String()

        @post_dump
        def shout(self, data, **kwargs):
            return {key: value.upper() for key, value in data.items()}

    with pytest.raises(ValueError, match="dump hooks"):
        compile_dumper(Hooked())


def test_compiled_dumper_refuses_a_field_the_rows_do_not_hold():
    class Invented(Schema):
        nickname = fields.String()

    with pytest.raises(ValueError, match="not read from"):
        compile_dumper(Invented(), OrderItem)


def test_compiled_dumper_refuses_a_time_from_json():
    """Each database writes times into JSON in its own format: not the schema's."""

    class Timed(Schema):
        created_at = fields.DateTime()

    with pytest.raises(ValueError, match="cannot be dumped from JSON"):
        compile_dumper(Timed(), OrderItem, from_json=True)
