"""The orders list page is one statement (orders, total, items as JSON) dumped by a dump plan
of OrderSchema: it must say exactly what the one-order endpoint (plain marshmallow) says,
page after page, on both databases."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from marshmallow import Schema, fields, post_dump
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugins.orders.listing import dump_plan
from plugins.orders.models import Order, OrderItem
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


def _assert_the_one_order_views(client, store, listed) -> None:
    """Every order of the list is its one-order view: same keys, same values."""
    assert listed.status_code == 200
    for order in listed.get_json():
        single = client.get(f"{store.orders}/{order['id']}", headers=store.owner)
        assert order == single.get_json()


def test_every_order_of_every_page_is_the_one_order_view(store, make_app):
    client = make_app(**UNLIMITED_CREATES).test_client()
    _create_orders(store, client, 7)
    seen = []
    for page in (1, 2, 3):
        response = client.get(f"{store.orders}?page={page}&page_size=3", headers=store.owner)
        _assert_the_one_order_views(client, store, response)
        for order in response.get_json():
            assert [item["name"] for item in order["items"]] == [
                f"Item {order['customer_name'].split()[1]}-{line}"
                for line in range(len(order["items"]))
            ]
            seen.append(order["number"])
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_every_field_of_a_provider_order_is_the_one_order_view(app, store, make_app):
    """Provider amounts, a refund, a test order deleted at its provider, times with and
    without microseconds, and text that JSON must escape."""
    client = make_app(**UNLIMITED_CREATES).test_client()
    awkward = 'Zoë "the \\ buyer"\nof\ttabs \u0001 and emoji \U0001f600'
    body = {
        "customer_name": awkward,
        "customer_email": "zoe@example.com",
        "customer_phone": "+33 1 23 45 67 89",
        "items": [{"name": awkward, "sku": "SKU-1", "quantity": 2, "price": 10.1}],
    }
    plain, provider = (store.order(body)["id"] for _ in range(2))
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        session.execute(
            update(Order)
            .where(Order.id == uuid.UUID(provider))
            .values(
                external_id="gid://shopify/Order/1",
                provider="shopify",
                status="refunded",
                subtotal=Decimal("18.20"),
                tax=Decimal("3.64"),
                shipping=Decimal("0.00"),
                discounts=Decimal("2.00"),
                refunded=Decimal("20.20"),
                presentment_currency="EUR",
                presentment_total=Decimal("18.75"),
                is_test=True,
                table_number=12,
                stock_warning="SKU-1: 1 short",
                deleted_at=datetime(2025, 3, 5, 12, tzinfo=UTC),
                fulfilled_date=datetime(2025, 3, 4, 9, 30, 15, 120000, tzinfo=UTC),
            )
        )
    listed = client.get(store.orders, headers=store.owner)
    _assert_the_one_order_views(client, store, listed)
    orders = {order["id"]: order for order in listed.get_json()}
    assert orders[provider]["customer"]["name"] == awkward == orders[plain]["items"][0]["name"]
    assert orders[provider]["net_total"] == 0.0 and orders[plain]["deleted_at"] is None
    assert orders[provider]["fulfilled_date"] == "2025-03-04T09:30:15.120000Z"
    assert orders[provider]["deleted_at"] == "2025-03-05T12:00:00Z"


def test_an_order_without_items_lists_an_empty_list(app, store):
    order = store.order()
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        session.query(OrderItem).filter(OrderItem.order_id == uuid.UUID(order["id"])).delete()
    listed = store.client.get(store.orders, headers=store.owner)
    _assert_the_one_order_views(store.client, store, listed)
    assert listed.get_json()[0]["items"] == []


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
    _assert_the_one_order_views(client, store, listed)
    for order in listed.get_json():
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


ONE_ITEM = {"items": [{"name": "Tea", "quantity": 1, "price": 2}]}


def _total(client, url: str, headers) -> int:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return json.loads(response.headers["X-Pagination"])["total"]


def test_the_kept_total_of_all_orders_follows_every_way_orders_come_and_go(
    app, api, store, make_app
):
    """The unfiltered list reads its total from the count kept by triggers (migration 0004):
    it must follow orders made through the API, inserted many per statement behind the
    API's back, and deleted, and keep each project's count apart."""
    client = make_app(**UNLIMITED_CREATES).test_client()
    _create_orders(store, client, 3)
    other = api.project(store.owner)
    other_orders = f"/api/v1/orders/{other['id']}"
    assert client.post(other_orders, json=ONE_ITEM, headers=store.owner).status_code == 201
    project_id = uuid.UUID(store.project["id"])
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        session.execute(
            insert(Order),
            [{"project_id": project_id, "number": 100 + n, "provider": "pos"} for n in range(4)],
        )
    assert _total(client, store.orders, store.owner) == 7
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        doomed = session.scalars(
            select(Order.id)
            .where(Order.project_id == project_id)
            .order_by(Order.number.desc())
            .limit(3)
        ).all()
        session.execute(delete(OrderItem).where(OrderItem.order_id.in_(doomed)))
        session.execute(delete(Order).where(Order.id.in_(doomed)))
        counted = session.scalar(select(func.count()).where(Order.project_id == project_id))
    assert _total(client, store.orders, store.owner) == counted == 4
    assert _total(client, f"{store.orders}?page=9", store.owner) == 4  # past the end
    assert _total(client, f"{store.orders}?provider=pos", store.owner) == 1  # counted
    assert _total(client, other_orders, store.owner) == 1


def test_a_failed_insert_leaves_the_kept_total_as_it_was(app, store):
    """The count moves in the inserting transaction: rolled back, it never moved."""
    store.order()
    project_id = uuid.UUID(store.project["id"])
    db = app.extensions["nebulo"].db
    with pytest.raises(IntegrityError), app.app_context(), db.session_scope() as session:
        session.execute(insert(Order), [{"project_id": project_id, "number": 1}])
    assert _total(store.client, store.orders, store.owner) == 1


def test_dump_plan_refuses_a_schema_with_dump_hooks():
    class Hooked(Schema):
        name = fields.String()

        @post_dump
        def shout(self, data, **kwargs):
            return {key: value.upper() for key, value in data.items()}

    with pytest.raises(ValueError, match="dump hooks"):
        dump_plan(Hooked(), OrderItem)


def test_dump_plan_refuses_a_field_the_rows_do_not_hold():
    class Invented(Schema):
        nickname = fields.String()

    with pytest.raises(ValueError, match="not read from"):
        dump_plan(Invented(), OrderItem)


def test_dump_plan_refuses_a_time_from_json():
    """Each database writes times into JSON in its own format: not the schema's."""

    class Timed(Schema):
        created_at = fields.DateTime()

    with pytest.raises(ValueError, match="cannot be dumped from JSON"):
        dump_plan(Timed(), OrderItem, from_json=True)


def test_dump_plan_refuses_a_property_whose_columns_are_not_named():
    """A property runs on the columns named for it: one named none of would read nothing."""

    class Net(Schema):
        net_total = fields.Float()

    with pytest.raises(ValueError, match="net_total reads"):
        dump_plan(Net(), Order)
