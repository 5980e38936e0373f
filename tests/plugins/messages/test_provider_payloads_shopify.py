"""Shopify's real webhook bodies (``../shared/data/provider-payloads.json``), signed and sent
through the webhook endpoint: what is stored is what Shopify meant."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from core.jobs import wait_for_jobs
from tests.conftest import ApiClient
from tests.plugins.messages.conftest import Shop, shopify_headers
from tests.plugins.messages.test_events import EventSpy

PAYLOADS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "provider-payloads.json"
EVERY_DAY = 36500
EVERY_DAY_BY_DAY = 5000  # the longest series by day
IPODS = {"IPOD2008GREEN": "green", "IPOD2008RED": "red", "IPOD2008BLACK": "black"}


@cache
def shopify_payloads() -> dict[str, dict[str, Any]]:
    if not PAYLOADS.is_file():
        pytest.fail(
            f"Shopify's webhook bodies are read from {PAYLOADS}, which is missing: "
            "these tests need the shared provider-payloads.json next to the checkout"
        )
    return {p["id"]: p for p in json.loads(PAYLOADS.read_text()) if p["provider"] == "shopify"}


def payload_body(payload_id: str) -> dict[str, Any]:
    return json.loads(shopify_payloads()[payload_id]["body"])


def send(shop: Shop, integration: dict, payload_id: str) -> dict[str, Any]:
    """Send one payload of the file as Shopify would: its bytes, topic and webhook id."""
    payload = shopify_payloads()[payload_id]
    return send_body(
        shop, integration, payload["body"].encode(), payload["topic"], payload["webhook_id"]
    )


def send_body(
    shop: Shop, integration: dict, body: bytes, topic: str, webhook_id: str | None = None
) -> dict[str, Any]:
    response = shop.post_webhook(integration, body, shopify_headers(body, topic, webhook_id))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def orders_by_external_id(shop: Shop) -> dict[str, dict[str, Any]]:
    return {o["external_id"]: o for o in shop.get(f"orders/{shop.pid}", provider="shopify")}


def deliveries(shop: Shop, integration: dict) -> list[dict[str, Any]]:
    return shop.get(f"integrations/{shop.pid}/{integration['id']}/deliveries")


def summary(shop: Shop) -> dict[str, Any]:
    return shop.get(f"orders/{shop.pid}/stats/summary", days=EVERY_DAY)


def add_ipods(shop: Shop, stock: int = 5, **stocks: int) -> None:
    for sku, colour in IPODS.items():
        response = shop.client.post(
            f"/api/v1/catalog/{shop.pid}/products",
            json={
                "name": f"iPod {colour}",
                "sku": sku,
                "price": 199,
                "stock": stocks.get(sku, stock),
            },
            headers=shop.owner,
        )
        assert response.status_code == 201, response.get_json()


def stock_by_sku(shop: Shop) -> dict[str, int]:
    return {p["sku"]: p["stock"] for p in shop.get(f"catalog/{shop.pid}/products")}


def test_every_shopify_payload_is_stored_or_answered_as_a_duplicate(shop):
    integration = shop.connect("shopify")
    answers = {payload_id: send(shop, integration, payload_id) for payload_id in shopify_payloads()}
    shop.settle()
    assert answers.pop("SH5-replay")["status"] == "duplicate"
    assert {answer["status"] for answer in answers.values()} == {"accepted"}
    stored = deliveries(shop, integration)
    assert len(stored) == len(answers)
    assert all(d["status"] == "processed" and d["error"] is None for d in stored), stored
    orders = orders_by_external_id(shop)
    assert sorted(orders) == sorted(
        str(payload_body(p)["id"])
        for p in (
            "SH1-create",
            "SH2-testnotif",
            "SH3-jpy-nocustomer",
            "SH4-aud-test",
            "SH7-orders-fulfilled",
        )
    )


def test_totals_are_the_providers_with_their_breakdown_and_variant_names(shop):
    integration = shop.connect("shopify")
    send(shop, integration, "SH1-create")
    send(shop, integration, "SH2-testnotif")
    shop.settle()
    orders = orders_by_external_id(shop)
    fixture = orders["450789469"]
    assert (fixture["total"], fixture["subtotal"], fixture["tax"]) == (409.94, 398.0, 11.94)
    assert (fixture["shipping"], fixture["discounts"], fixture["refunded"]) == (0.0, 0.0, 0.0)
    assert fixture["currency"] == "USD" and fixture["presentment_currency"] is None
    assert fixture["status"] == "pending"  # authorized, not yet paid
    assert [item["name"] for item in fixture["items"]] == [
        "IPod Nano - 8gb - green",
        "IPod Nano - 8gb - red",
        "IPod Nano - 8gb - black",
    ]
    notification = orders["820982911946154508"]
    assert (notification["total"], notification["subtotal"]) == (403.0, 393.0)
    assert (notification["shipping"], notification["discounts"]) == (10.0, 5.0)


def test_an_order_edit_replaces_lines_and_totals_and_moves_the_stock(shop):
    add_ipods(shop, stock=5)
    integration = shop.connect("shopify")
    send(shop, integration, "SH1-create")
    shop.settle()
    assert stock_by_sku(shop) == dict.fromkeys(IPODS, 4)
    for payload_id in ("SH1-paid", "SH1-updated-edit"):
        send(shop, integration, payload_id)
    shop.settle()
    order = orders_by_external_id(shop)["450789469"]
    assert (order["status"], order["total"], order["tax"]) == ("paid", 421.88, 23.88)
    assert [(i["sku"], i["quantity"], i["unit_price"]) for i in order["items"]] == [
        ("IPOD2008GREEN", 1, 199.0),
        ("IPOD2008RED", 1, 199.0),
    ]
    assert all(item["product_id"] for item in order["items"])
    assert stock_by_sku(shop) == {"IPOD2008GREEN": 4, "IPOD2008RED": 4, "IPOD2008BLACK": 5}
    send(shop, integration, "SH1-cancelled")
    shop.settle()
    order = orders_by_external_id(shop)["450789469"]
    assert (order["status"], order["refunded"], order["net_total"]) == ("cancelled", 421.88, 0.0)
    assert stock_by_sku(shop) == dict.fromkeys(IPODS, 5)


def test_an_older_version_arriving_late_changes_nothing(shop):
    integration = shop.connect("shopify")
    send(shop, integration, "SH1-updated-edit")
    shop.settle()
    send(shop, integration, "SH1-create")  # 10 minutes older: a late delivery
    shop.settle()
    order = orders_by_external_id(shop)["450789469"]
    assert (order["total"], len(order["items"]), order["status"]) == (421.88, 2, "paid")


def test_an_order_short_of_stock_is_stored_with_a_warning_and_an_event(make_app, fakes):
    spy = EventSpy()
    plugin = {
        "NEBULO_SHOPIFY_BASE_URL": fakes["shopify"].url,
        "NEBULO_ASSISTANT_PROVIDER": "offline",
    }
    app = make_app(extra_plugins=[("event_spy", spy)], plugin=plugin)
    client = app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    shop = Shop(app, client, owner, api.project(owner))
    add_ipods(shop, stock=3, IPOD2008RED=0)
    integration = shop.connect("shopify")
    send(shop, integration, "SH1-create")
    wait_for_jobs(app)
    [delivery] = deliveries(shop, integration)
    assert delivery["status"] == "processed"
    order = orders_by_external_id(shop)["450789469"]
    assert order["total"] == 409.94 and len(order["items"]) == 3
    assert order["stock_warning"] == "Not enough stock of 'iPod red': 1 wanted, 0 left"
    assert stock_by_sku(shop) == {"IPOD2008GREEN": 2, "IPOD2008RED": 0, "IPOD2008BLACK": 2}
    [conflict] = [e for e in spy.events if e.name == "order.stock_conflict"]
    assert conflict.payload["warning"] == order["stock_warning"]
    assert conflict.payload["order_id"] == order["id"]
    # Cancelling gives back only the stock the order took: none of the red one.
    cancelled = payload_body("SH1-create") | {
        "cancelled_at": "2008-01-10T12:00:00-05:00",
        "updated_at": "2008-01-10T12:00:00-05:00",
    }
    send_body(shop, integration, json.dumps(cancelled).encode(), "orders/cancelled")
    wait_for_jobs(app)
    assert stock_by_sku(shop) == {"IPOD2008GREEN": 3, "IPOD2008RED": 0, "IPOD2008BLACK": 3}


def test_test_orders_are_kept_marked_and_out_of_every_figure(shop):
    integration = shop.connect("shopify")
    for payload_id in ("SH2-testnotif", "SH4-aud-test", "SH7-orders-fulfilled"):
        send(shop, integration, payload_id)
    shop.settle()
    orders = orders_by_external_id(shop)
    assert orders["820982911946154508"]["is_test"] is True
    assert orders["2998557704341"]["is_test"] is True
    assert orders["2998557704341"]["currency"] == "AUD"
    real = orders["820982911946154509"]
    assert real["is_test"] is False and real["status"] == "fulfilled" and real["fulfilled_date"]
    figures = summary(shop)
    assert figures["total_orders"] == 1 and figures["orders_by_status"] == {"fulfilled": 1}
    assert (figures["currency"], figures["total_revenue"]) == ("USD", 403.0)
    assert figures["other_currencies"] == {}
    top = shop.get(f"orders/{shop.pid}/stats/top-products", days=EVERY_DAY)
    assert sum(row["orders"] for row in top) == 1
    by_day = shop.get(f"orders/{shop.pid}/stats/revenue-by-day", days=EVERY_DAY_BY_DAY)
    assert [(row["currency"], row["revenue"]) for row in by_day] == [("USD", 403.0)]


def test_currencies_are_never_added_together(shop):
    integration = shop.connect("shopify")
    for payload_id in ("SH1-create", "SH3-jpy-nocustomer", "SH7-orders-fulfilled"):
        send(shop, integration, payload_id)
    shop.settle()
    yen = orders_by_external_id(shop)["4216042061977"]
    assert (yen["currency"], yen["total"], yen["tax"]) == ("JPY", 14319.0, 229.0)
    assert yen["customer_id"] is None
    figures = summary(shop)
    assert (figures["currency"], figures["total_revenue"]) == ("USD", 812.94)
    assert figures["average_order_value"] == 406.47
    assert figures["other_currencies"] == {
        "JPY": {"orders": 1, "revenue": 14319.0, "average_order_value": 14319.0}
    }
    by_day = shop.get(f"orders/{shop.pid}/stats/revenue-by-day", days=EVERY_DAY_BY_DAY)
    assert {row["currency"] for row in by_day} == {"USD", "JPY"}


def test_an_order_paid_in_another_currency_keeps_the_buyers_amounts_too(shop):
    integration = shop.connect("shopify")
    order = payload_body("SH7-orders-fulfilled") | {"id": 77001, "presentment_currency": "EUR"}
    order["total_price_set"] = {
        "shop_money": {"amount": "403.00", "currency_code": "USD"},
        "presentment_money": {"amount": "371.50", "currency_code": "EUR"},
    }
    send_body(shop, integration, json.dumps(order).encode(), "orders/create")
    shop.settle()
    stored = orders_by_external_id(shop)["77001"]
    assert (stored["currency"], stored["total"]) == ("USD", 403.0)
    assert (stored["presentment_currency"], stored["presentment_total"]) == ("EUR", 371.5)


def test_a_partial_refund_is_recorded_and_taken_off_revenue(shop):
    integration = shop.connect("shopify")
    send(shop, integration, "SH7-orders-fulfilled")
    shop.settle()
    refunded = payload_body("SH7-orders-fulfilled") | {
        "financial_status": "partially_refunded",
        "updated_at": "2019-06-05T10:00:00-04:00",
        "refunds": [
            {
                "id": 1,
                "transactions": [
                    {"kind": "refund", "status": "success", "amount": "50.00", "currency": "USD"},
                    {"kind": "refund", "status": "failure", "amount": "99.00", "currency": "USD"},
                ],
                "refund_line_items": [],
            }
        ],
    }
    send_body(shop, integration, json.dumps(refunded).encode(), "orders/updated")
    shop.settle()
    order = orders_by_external_id(shop)["820982911946154509"]
    assert (order["status"], order["refunded"], order["net_total"]) == ("fulfilled", 50.0, 353.0)
    assert summary(shop)["total_revenue"] == 353.0


def test_orders_delete_marks_the_order_deleted_and_out_of_figures(shop):
    add_ipods(shop, stock=5)
    integration = shop.connect("shopify")
    send(shop, integration, "SH1-create")
    send(shop, integration, "SH6-orders-delete")
    shop.settle()
    assert [d["status"] for d in deliveries(shop, integration)] == ["processed", "processed"]
    order = orders_by_external_id(shop)["450789469"]
    assert order["deleted_at"] and order["total"] == 409.94
    assert summary(shop)["total_orders"] == 0
    assert stock_by_sku(shop) == dict.fromkeys(IPODS, 5)


def test_deleting_an_unknown_order_fails_visibly(shop, quick_processing_retries):
    integration = shop.connect("shopify")
    body = json.dumps({"id": 999}).encode()
    assert send_body(shop, integration, body, "orders/delete")["status"] == "accepted"
    shop.settle()
    [delivery] = deliveries(shop, integration)
    assert delivery["status"] == "failed" and "No shopify order 999" in delivery["error"]


@pytest.mark.parametrize(
    "changes",
    [
        {"refunds": [{"transactions": [{"kind": "refund", "amount": "lots"}]}]},
        {"refunds": "none"},
        {"id": None},
    ],
)
def test_an_order_that_cannot_be_read_gets_400_and_nothing_is_stored(shop, changes):
    integration = shop.connect("shopify")
    body = json.dumps(payload_body("SH7-orders-fulfilled") | changes).encode()
    response = shop.post_webhook(integration, body, shopify_headers(body))
    assert response.status_code == 400 and response.get_json()["code"] == "BAD_REQUEST"
    shop.settle()
    assert deliveries(shop, integration) == [] and orders_by_external_id(shop) == {}


def test_a_total_that_is_not_an_amount_fails_the_delivery_visibly(shop, quick_processing_retries):
    integration = shop.connect("shopify")
    body = json.dumps(
        payload_body("SH7-orders-fulfilled") | {"total_price_set": None, "total_price": "-3"}
    ).encode()
    send_body(shop, integration, body, "orders/create")
    shop.settle()
    [delivery] = deliveries(shop, integration)
    assert delivery["status"] == "failed" and "'-3'" in delivery["error"]
    assert orders_by_external_id(shop) == {}


def test_a_line_beyond_what_an_amount_holds_fails_the_delivery_visibly(
    shop, quick_processing_retries
):
    integration = shop.connect("shopify")
    order = payload_body("SH7-orders-fulfilled")
    order["line_items"][0] |= {"quantity": 1000000, "price_set": None, "price": "999999999.00"}
    send_body(shop, integration, json.dumps(order).encode(), "orders/create")
    shop.settle()
    [delivery] = deliveries(shop, integration)
    assert delivery["status"] == "failed" and "totals more than" in delivery["error"]
    assert orders_by_external_id(shop) == {}
