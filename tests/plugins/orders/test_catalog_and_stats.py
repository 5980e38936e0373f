"""Catalog CRUD (soft delete, unique SKU) and the statistics endpoints in the seed's shapes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.core.helpers import assert_error
from tests.plugins.orders.conftest import UNLIMITED_CREATES


def test_categories_and_products_crud_with_soft_delete(store):
    category = store.client.post(
        f"{store.catalog}/categories", json={"name": "Drinks"}, headers=store.owner
    )
    assert category.status_code == 201
    category_id = category.get_json()["id"]
    assert_error(
        store.client.post(
            f"{store.catalog}/categories", json={"name": "Drinks"}, headers=store.owner
        ),
        409,
    )
    product = store.product("Lemonade", price=3, stock=7, sku="LEM-1", category_id=category_id)
    assert (
        product["category_id"] == category_id
        and product["price"] == 3.0
        and product["deleted"] is False
    )
    assert_error(
        store.client.post(
            f"{store.catalog}/products",
            json={"name": "X", "price": 1, "sku": "LEM-1"},
            headers=store.owner,
        ),
        409,
    )
    for bad in (
        {"name": "X", "price": -1},
        {"name": "X", "price": "cheap"},
        {"name": "X", "price": 1, "stock": -3},
        {"name": "X", "price": 1, "category_id": str(uuid.uuid4())},
        {"price": 1},
    ):
        assert_error(
            store.client.post(f"{store.catalog}/products", json=bad, headers=store.owner), 422
        )
    url = f"{store.catalog}/products/{product['id']}"
    updated = store.client.put(url, json={"price": 3.5, "stock": 9}, headers=store.owner).get_json()
    assert updated["price"] == 3.5 and updated["stock"] == 9
    assert [
        p["name"]
        for p in store.client.get(f"{store.catalog}/products?q=lem", headers=store.owner).get_json()
    ] == ["Lemonade"]
    assert store.client.delete(url, headers=store.owner).status_code == 204
    assert store.client.get(url, headers=store.owner).get_json()["deleted"] is True
    assert store.client.get(f"{store.catalog}/products", headers=store.owner).get_json() == []
    assert (
        len(
            store.client.get(
                f"{store.catalog}/products?include_deleted=true", headers=store.owner
            ).get_json()
        )
        == 1
    )
    body = {"items": [{"product_id": product["id"], "quantity": 1}]}
    assert (
        "items"
        in assert_error(store.client.post(store.orders, json=body, headers=store.owner), 422)[
            "errors"
        ]
    )
    assert (
        store.client.delete(
            f"{store.catalog}/categories/{category_id}", headers=store.owner
        ).status_code
        == 204
    )
    assert_error(
        store.client.get(f"{store.catalog}/products/{uuid.uuid4()}", headers=store.owner), 404
    )


def test_stats_summary_top_products_and_revenue_by_day(store, make_app):
    client = make_app(**UNLIMITED_CREATES).test_client()
    now = datetime.now(UTC)
    recent, old = (now - timedelta(days=2)).isoformat(), (now - timedelta(days=60)).isoformat()
    bodies = [
        {"order_date": recent, "items": [{"name": "Tea", "quantity": 2, "price": 10}]},
        {"order_date": recent, "items": [{"name": "Cake", "quantity": 1, "price": 25.5}]},
        {"order_date": recent, "items": [{"name": "Tea", "quantity": 1, "price": 10}]},
        {"order_date": old, "items": [{"name": "Cake", "quantity": 9, "price": 1}]},
    ]
    ids = [client.post(store.orders, json=b, headers=store.owner).get_json()["id"] for b in bodies]
    client.patch(f"{store.orders}/{ids[2]}", json={"status": "cancelled"}, headers=store.owner)
    client.patch(f"{store.orders}/{ids[1]}", json={"status": "fulfilled"}, headers=store.owner)
    summary = client.get(f"{store.orders}/stats/summary?days=30", headers=store.owner).get_json()
    assert summary == {
        "period_days": 30,
        "total_orders": 3,
        "total_revenue": 45.5,
        "orders_by_status": {"pending": 1, "fulfilled": 1, "cancelled": 1},
        "average_order_value": 22.75,
        "currency": "USD",
        "other_currencies": {},
    }
    assert (
        client.get(f"{store.orders}/stats/summary?days=90", headers=store.owner).get_json()[
            "total_orders"
        ]
        == 4
    )
    top = client.get(
        f"{store.orders}/stats/top-products?days=30&limit=5", headers=store.owner
    ).get_json()
    assert [(t["name"], t["quantity"], t["revenue"]) for t in top] == [
        ("Tea", 2, 20.0),
        ("Cake", 1, 25.5),
    ]
    days = client.get(
        f"{store.orders}/stats/revenue-by-day?days=30", headers=store.owner
    ).get_json()
    assert days == [
        {
            "date": (now - timedelta(days=2)).date().isoformat(),
            "currency": "USD",
            "orders": 2,
            "revenue": 45.5,
        }
    ]
    empty = client.get(f"{store.orders}/stats/summary?days=1", headers=store.owner).get_json()
    assert empty["total_orders"] == 0 and empty["average_order_value"] == 0
    assert_error(client.get(f"{store.orders}/stats/summary?days=-1", headers=store.owner), 422)
    assert_error(client.get(f"{store.orders}/stats/summary?days=abc", headers=store.owner), 422)
