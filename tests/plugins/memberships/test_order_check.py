"""An order's membership_id must be its customer's membership, active on the order's date.

The orders plugin knows nothing of memberships: it asks every plugin through the
``check_order`` hook, and this plugin answers."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from core.errors import Invalid
from core.hookspecs import hookimpl
from tests.core.helpers import assert_error
from tests.plugins.memberships.conftest import TODAY


@pytest.fixture
def shop(club):
    """Ana with a membership from 10 days ago to 20 days ahead, Bea with none, and a product."""
    ana, bea = club.customer("Ana"), club.customer("Bea")
    membership = club.member(ana, start=-10, end=20)
    product = club.client.post(
        f"/api/v1/catalog/{club.project['id']}/products",
        json={"name": "Espresso", "price": 3.5, "stock": 50},
        headers=club.owner,
    ).get_json()
    return {"ana": ana, "bea": bea, "membership": membership["id"], "product": product["id"]}


def place(club, shop, customer: str, membership_id: str, days_from_today: int = 0):
    when = TODAY + timedelta(days=days_from_today)
    body = {
        "customer_id": customer,
        "membership_id": membership_id,
        "date": f"{when.isoformat()}T12:00:00Z",
        "transaction_details": [{"product_id": shop["product"], "quantity": 2}],
    }
    return club.client.post(f"/api/v1/orders/{club.project['id']}", json=body, headers=club.owner)


def orders_and_stock(club, shop) -> tuple[int, int]:
    orders = club.client.get(f"/api/v1/orders/{club.project['id']}", headers=club.owner)
    product = club.client.get(
        f"/api/v1/catalog/{club.project['id']}/products/{shop['product']}", headers=club.owner
    )
    return len(orders.get_json()), product.get_json()["stock"]


def test_an_order_on_the_customers_current_membership_is_accepted(club, shop):
    for offset in (-10, 0, 20):  # both ends of the period count
        response = place(club, shop, shop["ana"], shop["membership"], offset)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["membership_id"] == shop["membership"]


def test_another_customers_membership_is_refused_and_nothing_is_written(club, shop):
    body = assert_error(place(club, shop, shop["bea"], shop["membership"]), 422)
    assert "another customer" in body["errors"]["membership_id"][0]
    assert orders_and_stock(club, shop) == (0, 50)


def test_a_membership_inactive_on_the_order_date_is_refused(club, shop):
    for offset in (-11, 21, 400):
        body = assert_error(place(club, shop, shop["ana"], shop["membership"], offset), 422)
        assert "not on the order's date" in body["errors"]["membership_id"][0]
    assert orders_and_stock(club, shop) == (0, 50)


def test_an_unknown_or_foreign_membership_is_refused(club, shop, api):
    other_project = api.project(club.owner, name="Other store")
    stranger = club.customer("Cy", project=other_project)
    foreign = club.client.post(
        f"/api/v1/memberships/{other_project['id']}",
        json={
            "customer_id": stranger,
            "start_period": TODAY.isoformat(),
            "end_period": (TODAY + timedelta(days=5)).isoformat(),
            "tier": "gold",
        },
        headers=club.owner,
    ).get_json()
    for membership_id in (str(uuid.uuid4()), foreign["id"]):
        body = assert_error(place(club, shop, shop["ana"], membership_id), 422)
        assert membership_id in body["errors"]["membership_id"][0]
    assert orders_and_stock(club, shop) == (0, 50)


def test_an_order_without_a_customer_cannot_carry_a_membership(club, shop):
    body = {
        "customer_name": "Walk-in",
        "membership_id": shop["membership"],
        "items": [{"product_id": shop["product"], "quantity": 1}],
    }
    response = club.client.post(
        f"/api/v1/orders/{club.project['id']}", json=body, headers=club.owner
    )
    assert "needs its customer" in assert_error(response, 422)["errors"]["membership_id"][0]


def test_orders_without_a_membership_are_not_concerned(club, shop):
    body = {"customer_id": shop["bea"], "items": [{"product_id": shop["product"], "quantity": 1}]}
    response = club.client.post(
        f"/api/v1/orders/{club.project['id']}", json=body, headers=club.owner
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["membership_id"] is None


class UnluckyTables:
    """A throw-away plugin using the same generic hook: it refuses table 13."""

    @hookimpl
    def check_order(self, session, order):
        if order.table_number == 13:
            raise Invalid(errors={"table_number": ["Table 13 is not served"]})


def test_any_plugin_can_refuse_an_order_through_the_check_order_hook(club, shop, make_app):
    client = make_app(extra_plugins=[("unlucky_tables", UnluckyTables())]).test_client()
    url = f"/api/v1/orders/{club.project['id']}"
    body = {"table_number": 13, "items": [{"product_id": shop["product"], "quantity": 1}]}
    refused = assert_error(client.post(url, json=body, headers=club.owner), 422)
    assert refused["errors"] == {"table_number": ["Table 13 is not served"]}
    assert orders_and_stock(club, shop) == (0, 50)
    body["table_number"] = 12
    assert client.post(url, json=body, headers=club.owner).status_code == 201
