"""Orders through the HTTP API: create (both seed shapes), read, list, change, delete, bulk."""

from __future__ import annotations

import copy
import json
import uuid

import pytest

from core.hookspecs import hookimpl
from tests.core.helpers import assert_error
from tests.plugins.orders.conftest import UNLIMITED_CREATES, Store


def test_seed_000_order_is_created_with_a_server_computed_total(store):
    created = store.order(
        {
            "customer_name": "John Doe",
            "items": [
                {"product_name": "Widget A", "quantity": 10, "price": 99.99},
                {"product_name": "Widget B", "quantity": 5, "price": 49.99},
            ],
        }
    )
    assert created["total"] == 1249.85
    assert created["status"] == "pending" and created["currency"] == "USD"
    assert created["customer_name"] == "John Doe" and created["number"] == 1
    assert [
        (i["name"], i["quantity"], i["unit_price"], i["line_total"]) for i in created["items"]
    ] == [
        ("Widget A", 10, 99.99, 999.9),
        ("Widget B", 5, 49.99, 249.95),
    ]
    fetched = store.client.get(f"{store.orders}/{created['id']}", headers=store.owner)
    assert fetched.status_code == 200 and fetched.get_json() == created


def test_money_is_exact_and_a_json_number_with_at_most_two_decimals(store):
    created = store.order({"items": [{"name": "Dime", "quantity": 3, "price": "0.10"}]})
    raw = store.client.get(f"{store.orders}/{created['id']}", headers=store.owner).get_data(
        as_text=True
    )
    assert '"total": 0.3' in raw or '"total":0.3' in raw


def test_seed_003_transaction_links_customer_membership_and_catalog_products(store):
    customer = store.client.post(
        f"/api/v1/customers/{store.project['id']}",
        json={"name": "Ana Ruiz", "email": "ana@example.com"},
        headers=store.owner,
    )
    assert customer.status_code == 201, customer.get_json()
    product = store.product("Espresso", price=3.5, stock=5)
    # The memberships plugin checks the link: a membership of this customer on that date.
    membership = store.client.post(
        f"/api/v1/memberships/{store.project['id']}",
        json={
            "customer_id": customer.get_json()["id"],
            "start_period": "2025-01-01",
            "end_period": "2025-12-31",
            "tier": "gold",
        },
        headers=store.owner,
    )
    assert membership.status_code == 201, membership.get_json()
    membership_id = membership.get_json()["id"]
    created = store.order(
        {
            "customer_id": customer.get_json()["id"],
            "membership_id": membership_id,
            "date": "2025-01-12T10:00:00Z",
            "transaction_details": [
                {"product_id": product["id"], "quantity": 2, "price_per_unit": 3.25}
            ],
        }
    )
    assert created["customer_id"] == customer.get_json()["id"]
    assert created["customer"] == {"name": "Ana Ruiz", "email": "ana@example.com", "phone": None}
    assert created["membership_id"] == membership_id
    assert created["order_date"].startswith("2025-01-12T10:00:00")
    assert created["items"][0]["product_id"] == product["id"] and created["total"] == 6.5
    assert store.stock(product["id"]) == 3


def test_catalog_price_applies_when_the_item_gives_none(store):
    product = store.product("Bagel", price=2.25, stock=4, sku="BAG-1")
    created = store.order(
        {"items": [{"sku": "BAG-1", "quantity": 2}, {"product_name": "bagel", "quantity": 1}]}
    )
    assert created["total"] == 6.75
    assert {i["product_id"] for i in created["items"]} == {product["id"]}
    assert store.stock(product["id"]) == 1


def test_order_numbers_are_sequential_per_project(store, api):
    numbers = [store.order()["number"] for _ in range(3)]
    other = Store(store.client, api, store.owner, api.project(store.owner, "Other"))
    assert numbers == [1, 2, 3] and other.order()["number"] == 1


def test_not_enough_stock_is_409_naming_the_product_and_writes_nothing(store):
    plenty = store.product("Plenty", stock=100)
    scarce = store.product("Scarce Item", stock=1)
    body = {
        "items": [
            {"product_id": plenty["id"], "quantity": 5},
            {"product_id": scarce["id"], "quantity": 2},
        ]
    }
    error = assert_error(
        store.client.post(store.orders, json=body, headers=store.owner), 409, "CONFLICT"
    )
    assert "Scarce Item" in error["detail"]
    assert store.stock(plenty["id"]) == 100 and store.stock(scarce["id"]) == 1
    assert store.client.get(store.orders, headers=store.owner).get_json() == []


BAD_ORDERS = [
    ({"items": []}, "items"),
    ({"customer_name": "X"}, "items"),
    ({"items": [{"name": "A", "quantity": 0, "price": 1}]}, "items"),
    ({"items": [{"name": "A", "quantity": -2, "price": 1}]}, "items"),
    ({"items": [{"name": "A", "quantity": 1.5, "price": 1}]}, "items"),
    ({"items": [{"name": "A", "quantity": 1, "price": "abc"}]}, "items"),
    ({"items": [{"name": "A", "quantity": 1, "price": -1}]}, "items"),
    ({"items": [{"name": "A", "quantity": 1, "price": 1.999}]}, "items"),
    ({"items": [{"name": "A", "quantity": 1}]}, "items"),
    ({"items": [{"product_id": str(uuid.uuid4()), "quantity": 1}]}, "items"),
    (
        {"transaction_details": [{"product_id": str(uuid.uuid4()), "quantity": 1}]},
        "transaction_details",
    ),
    (
        {"customer_id": str(uuid.uuid4()), "items": [{"name": "A", "quantity": 1, "price": 1}]},
        "customer_id",
    ),
    ({"currency": "XYZ", "items": [{"name": "A", "quantity": 1, "price": 1}]}, "currency"),
    ({"currency": "dollars", "items": [{"name": "A", "quantity": 1, "price": 1}]}, "currency"),
    (
        {"order_date": "yesterday", "items": [{"name": "A", "quantity": 1, "price": 1}]},
        "order_date",
    ),
    ({"date": "2025-13-45", "items": [{"name": "A", "quantity": 1, "price": 1}]}, "date"),
    ({"surprise": 1, "items": [{"name": "A", "quantity": 1, "price": 1}]}, "surprise"),
]


@pytest.mark.parametrize(("body", "field"), BAD_ORDERS)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(store, body, field):
    body = copy.deepcopy(body)
    product = store.product(stock=5)
    if "items" in body and body["items"] and body["items"][0].get("name") == "A":
        body["items"].append({"product_id": product["id"], "quantity": 1})
    error = assert_error(
        store.client.post(store.orders, json=body, headers=store.owner), 422, "VALIDATION_ERROR"
    )
    assert field in error["errors"], error
    assert store.stock(product["id"]) == 5
    assert store.client.get(store.orders, headers=store.owner).get_json() == []


def test_idempotency_key_returns_the_first_order(store):
    product = store.product(stock=10)
    body = {"items": [{"product_id": product["id"], "quantity": 3}]}
    headers = {**store.owner, "Idempotency-Key": "retry-1"}
    first = store.client.post(store.orders, json=body, headers=headers)
    again = store.client.post(store.orders, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert store.stock(product["id"]) == 7
    assert len(store.client.get(store.orders, headers=store.owner).get_json()) == 1


def test_external_id_is_unique_per_provider(store):
    body = {
        "external_id": "1234",
        "provider": "shopify",
        "items": [{"name": "A", "quantity": 1, "price": 1}],
    }
    store.order(body)
    assert_error(store.client.post(store.orders, json=body, headers=store.owner), 409)
    store.order({**body, "provider": "pos"})


def test_create_is_limited_to_ten_per_minute_per_user(store):
    for _ in range(10):
        store.order()
    assert_error(store.client.post(store.orders, json={}, headers=store.owner), 429, "RATE_LIMITED")


def test_create_limit_is_configurable(make_app, store):
    other = make_app(**UNLIMITED_CREATES).test_client()
    for _ in range(12):
        body = {"items": [{"name": "A", "quantity": 1, "price": 1}]}
        assert other.post(store.orders, json=body, headers=store.owner).status_code == 201


def test_permissions_follow_roles(store):
    created = store.order()
    viewer, operator = store.member("viewer"), store.member("operator")
    url = f"{store.orders}/{created['id']}"
    assert store.client.get(url, headers=viewer).status_code == 200
    body = {"items": [{"name": "A", "quantity": 1, "price": 1}]}
    assert_error(store.client.post(store.orders, json=body, headers=viewer), 403)
    assert_error(store.client.patch(url, json={"status": "paid"}, headers=viewer), 403)
    assert store.client.patch(url, json={"status": "paid"}, headers=operator).status_code == 200
    assert_error(store.client.delete(url, headers=operator), 403)
    assert_error(
        store.client.post(
            f"{store.catalog}/products", json={"name": "P", "price": 1}, headers=operator
        ),
        403,
    )
    assert store.client.delete(url, headers=store.owner).status_code == 200


def test_other_projects_orders_do_not_exist(store, api):
    created = store.order()
    stranger = api.user_headers()
    assert_error(store.client.get(f"{store.orders}/{created['id']}", headers=stranger), 404)
    other = api.project(stranger, "Theirs")
    assert_error(
        store.client.get(f"/api/v1/orders/{other['id']}/{created['id']}", headers=stranger), 404
    )
    assert_error(store.client.get(f"{store.orders}/not-a-uuid", headers=store.owner), 400)
    assert_error(
        store.client.post(store.orders, data="x", content_type="text/plain", headers=store.owner),
        415,
    )


def _create_many(store: Store, client, bodies: list[dict]) -> list[dict]:
    created = []
    for body in bodies:
        response = client.post(store.orders, json=body, headers=store.owner)
        assert response.status_code == 201, response.get_json()
        created.append(response.get_json())
    return created


def test_list_filters_sort_and_pages(store, make_app):
    client = make_app(**UNLIMITED_CREATES).test_client()
    item = {"name": "Tea", "quantity": 1, "price": 1}
    _create_many(
        store,
        client,
        [
            {"customer_name": "Old Olga", "order_date": "2020-01-01T00:00:00Z", "items": [item]},
            {
                "customer_name": "Bob",
                "customer_email": "bob@example.com",
                "provider": "shopify",
                "items": [item],
            },
            {
                "customer_name": "Carla",
                "items": [{"name": "Lemon Cake", "quantity": 2, "price": 7}],
            },
            {
                "customer_name": "Dan",
                "status": "paid",
                "items": [{"name": "Tea", "quantity": 3, "price": 1}],
            },
        ],
    )

    def names(query: str) -> list[str]:
        response = client.get(f"{store.orders}?{query}", headers=store.owner)
        assert response.status_code == 200, response.get_json()
        return [order["customer_name"] for order in response.get_json()]

    assert names("") == ["Dan", "Carla", "Bob", "Old Olga"]
    assert names("status=paid") == ["Dan"]
    assert names("provider=shopify") == ["Bob"]
    assert names("days=30") == ["Dan", "Carla", "Bob"]
    assert names("date_to=2021-01-01T00:00:00Z") == ["Old Olga"]
    assert (
        names("q=lemon") == ["Carla"]
        and names("q=BOB%40example") == ["Bob"]
        and names("q=%231") == ["Old Olga"]
    )
    assert (
        names("sort_by=total&order=desc") == ["Carla", "Dan", "Old Olga", "Bob"]
        or names("sort_by=total&order=desc")[0] == "Carla"
    )
    assert names("sort_by=date&order=asc")[0] == "Old Olga"
    assert names("limit=2&offset=1") == ["Carla", "Bob"]
    page = client.get(f"{store.orders}?page=2&page_size=3", headers=store.owner)
    assert [o["customer_name"] for o in page.get_json()] == ["Old Olga"]
    assert json.loads(page.headers["X-Pagination"])["total"] == 4
    bob = client.get(f"{store.orders}?provider=shopify", headers=store.owner).get_json()[0]
    assert names(f"customer_id={bob['customer_id']}") == ["Bob"]
    for bad in (
        "status=lost",
        "days=0",
        "sort_by=name",
        "date_from=2022-01-01&date_to=2021-01-01",
        "page=0",
    ):
        assert_error(client.get(f"{store.orders}?{bad}", headers=store.owner), 422)


def test_status_changes_follow_the_allowed_transitions(store):
    product = store.product(stock=5)
    created = store.order({"items": [{"product_id": product["id"], "quantity": 2}]})
    url = f"{store.orders}/{created['id']}"
    paid = store.client.patch(url, json={"status": "paid"}, headers=store.owner)
    assert paid.status_code == 200 and paid.get_json()["status"] == "paid"
    fulfilled = store.client.patch(
        url,
        json={"status": "fulfilled", "fulfilled_date": "2025-01-12T12:00:00Z"},
        headers=store.owner,
    ).get_json()
    assert fulfilled["status"] == "fulfilled" and fulfilled["fulfilled_date"].startswith(
        "2025-01-12T12:00:00"
    )
    error = assert_error(
        store.client.patch(url, json={"status": "pending"}, headers=store.owner), 409
    )
    assert "fulfilled" in error["detail"]
    assert_error(store.client.patch(url, json={"status": "shipped"}, headers=store.owner), 422)
    assert (
        store.client.patch(url, json={"status": "refunded"}, headers=store.owner).status_code == 200
    )
    assert_error(store.client.patch(url, json={"status": "cancelled"}, headers=store.owner), 409)
    assert store.stock(product["id"]) == 3


def test_cancelling_gives_stock_back(store):
    product = store.product(stock=5)
    created = store.order({"items": [{"product_id": product["id"], "quantity": 2}]})
    response = store.client.patch(
        f"{store.orders}/{created['id']}", json={"status": "cancelled"}, headers=store.owner
    )
    assert response.status_code == 200 and store.stock(product["id"]) == 5


def test_deleting_a_pending_order_restores_stock(store):
    product = store.product(stock=5)
    created = store.order({"items": [{"product_id": product["id"], "quantity": 2}]})
    assert store.stock(product["id"]) == 3
    response = store.client.delete(f"{store.orders}/{created['id']}", headers=store.owner)
    assert response.status_code == 200 and response.get_json() == {
        "message": "Order deleted successfully."
    }
    assert store.stock(product["id"]) == 5
    assert_error(store.client.get(f"{store.orders}/{created['id']}", headers=store.owner), 404)
    assert_error(store.client.delete(f"{store.orders}/{created['id']}", headers=store.owner), 404)


def test_deleting_a_fulfilled_order_keeps_stock(store):
    product = store.product(stock=5)
    created = store.order({"items": [{"product_id": product["id"], "quantity": 2}]})
    store.client.patch(
        f"{store.orders}/{created['id']}", json={"status": "fulfilled"}, headers=store.owner
    )
    store.client.delete(f"{store.orders}/{created['id']}", headers=store.owner)
    assert store.stock(product["id"]) == 3


def test_bulk_items_are_added_all_or_nothing(store):
    pizza = store.product("Pizza Margherita", price=11, stock=3)
    cola = store.product("Coca-Cola", price=2.5, stock=1)
    person_id = store.client.post(  # a visitor of the persons plugin (hook check_order)
        f"/api/v1/persons/{store.project['id']}",
        json={"vector": [1.0] + [0.0] * 127},
        headers=store.owner,
    ).get_json()["id"]
    cart = store.order(
        {
            "person_id": person_id,
            "table_number": 5,
            "items": [{"product_id": pizza["id"], "quantity": 1}],
        }
    )
    url = f"{store.orders}/{cart['id']}/items/bulk"
    added = store.client.post(
        url,
        json={
            "items": [
                {"product_id": pizza["id"], "quantity": 1},
                {"product_id": cola["id"], "quantity": 1},
            ]
        },
        headers=store.owner,
    )
    assert added.status_code == 201, added.get_json()
    body = added.get_json()
    assert (
        body["created_count"] == 2
        and body["order"]["total"] == 24.5
        and len(body["order"]["items"]) == 3
    )
    assert body["order"]["person_id"] == person_id and body["order"]["table_number"] == 5
    too_many = {
        "items": [
            {"product_id": pizza["id"], "quantity": 1},
            {"product_id": cola["id"], "quantity": 1},
        ]
    }
    assert (
        "Coca-Cola"
        in assert_error(store.client.post(url, json=too_many, headers=store.owner), 409)["detail"]
    )
    assert store.stock(pizza["id"]) == 1 and store.stock(cola["id"]) == 0
    bad = {
        "items": [
            {"product_id": pizza["id"], "quantity": 1},
            {"name": "Water", "quantity": 0, "price": 1},
        ]
    }
    assert_error(store.client.post(url, json=bad, headers=store.owner), 422)
    assert_error(store.client.post(url, json={"items": []}, headers=store.owner), 422)
    assert (
        len(
            store.client.get(f"{store.orders}/{cart['id']}", headers=store.owner).get_json()[
                "items"
            ]
        )
        == 3
    )
    store.client.patch(f"{store.orders}/{cart['id']}", json={"status": "paid"}, headers=store.owner)
    assert_error(
        store.client.post(
            url, json={"items": [{"name": "W", "quantity": 1, "price": 1}]}, headers=store.owner
        ),
        409,
    )
    assert_error(
        store.client.post(
            f"{store.orders}/{uuid.uuid4()}/items/bulk", json=too_many, headers=store.owner
        ),
        404,
    )
    assert (
        store.client.get(f"{store.orders}?person_id={person_id}", headers=store.owner).get_json()[
            0
        ]["id"]
        == cart["id"]
    )


class EventProbe:
    def __init__(self):
        self.events = []

    @hookimpl
    def on_event(self, event):
        if event.name.startswith("order."):
            self.events.append(event)


def test_changes_publish_order_events(store, make_app):
    probe = EventProbe()
    client = make_app(extra_plugins=[("order_probe", probe)]).test_client()
    created = client.post(
        store.orders,
        json={"items": [{"name": "A", "quantity": 1, "price": 2}]},
        headers=store.owner,
    )
    order_id = created.get_json()["id"]
    client.patch(f"{store.orders}/{order_id}", json={"status": "paid"}, headers=store.owner)
    client.delete(f"{store.orders}/{order_id}", headers=store.owner)
    client.post(store.orders, json={"items": []}, headers=store.owner)
    assert [e.name for e in probe.events] == ["order.created", "order.updated", "order.deleted"]
    assert (
        probe.events[0].payload["order_id"] == order_id
        and probe.events[0].payload["total"] == "2.00"
    )
    assert probe.events[1].payload["changes"]["status"] == ["pending", "paid"]
