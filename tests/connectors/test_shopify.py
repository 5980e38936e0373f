import base64
import hashlib
import hmac
import json
import time

import pytest

from connectors.base import IGNORED, ORDER_UPSERT, MalformedWebhook, ProviderError
from connectors.shopify.connector import ShopifyConnector
from tests.connectors.conftest import connector_settings

SECRET = "shpss_app_secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def connector(fake=None, **settings) -> ShopifyConnector:
    config = {
        "shop_url": "yourstore.myshopify.com",
        "api_secret": SECRET,
        "access_token": "shpat_test_token",
    }
    if fake is not None:
        settings.setdefault("NEBULO_SHOPIFY_BASE_URL", fake.url)
    return ShopifyConnector(config, connector_settings(**settings))


ORDER = {
    "id": 820982911946154508,
    "name": "#1001",
    "email": "jon@example.com",
    "created_at": "2025-01-12T10:00:00-05:00",
    "updated_at": "2025-01-12T10:05:00-05:00",
    "total_price": "59.98",
    "currency": "USD",
    "financial_status": "paid",
    "fulfillment_status": None,
    "cancelled_at": None,
    "customer": {
        "id": 115310627314723954,
        "first_name": "John",
        "last_name": "Doe",
        "phone": "+1234567890",
    },
    "line_items": [{"title": "Product A", "sku": "A-1", "quantity": 2, "price": "29.99"}],
}


def test_verify_accepts_the_base64_hmac_of_the_raw_body():
    body = json.dumps(ORDER).encode()
    shopify = connector()
    assert shopify.verify_webhook({"X-Shopify-Hmac-Sha256": sign(body)}, body, {})
    assert shopify.verify_webhook({"x-shopify-hmac-sha256": sign(body)}, body, {})


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Shopify-Hmac-Sha256": ""},
        {"X-Shopify-Hmac-Sha256": sign(b"other body")},
        {"X-Shopify-Hmac-Sha256": sign(b"{}", "wrong secret")},
    ],
)
def test_verify_rejects_missing_or_wrong_signatures(headers):
    assert not connector().verify_webhook(headers, json.dumps(ORDER).encode(), {})


def test_order_topics_become_order_upserts_with_customer_and_items():
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37"}
    delivery = connector().parse_webhook(headers, json.dumps(ORDER).encode())
    assert delivery.delivery_id == "b54557e4-bdd9-4b37" and delivery.topic == "orders/create"
    [event] = delivery.events
    assert event.kind == ORDER_UPSERT
    assert event.data["external_id"] == "820982911946154508"
    assert event.data["status"] == "paid" and event.data["total"] == "59.98"
    assert event.data["customer"] == {
        "external_id": "115310627314723954",
        "name": "John Doe",
        "email": "jon@example.com",
        "phone": "+1234567890",
    }
    assert event.data["items"] == [
        {"name": "Product A", "sku": "A-1", "quantity": 2, "price": "29.99"}
    ]


def test_cancelled_orders_map_to_cancelled():
    body = json.dumps({**ORDER, "cancelled_at": "2025-01-13T00:00:00Z"}).encode()
    delivery = connector().parse_webhook({"X-Shopify-Topic": "orders/cancelled"}, body)
    assert delivery.events[0].data["status"] == "cancelled"
    assert delivery.delivery_id.startswith("sha256:")


def order_data(topic: str = "orders/updated", **changes) -> dict:
    body = json.dumps({**ORDER, **changes}).encode()
    [event] = connector().parse_webhook({"X-Shopify-Topic": topic}, body).events
    return event.data


@pytest.mark.parametrize(
    ("financial_status", "fulfillment_status", "status"),
    [
        ("partially_refunded", None, "paid"),
        ("partially_refunded", "fulfilled", "fulfilled"),
        ("refunded", "fulfilled", "refunded"),
        ("authorized", None, "pending"),
    ],
)
def test_only_a_full_refund_marks_the_order_refunded(financial_status, fulfillment_status, status):
    data = order_data(financial_status=financial_status, fulfillment_status=fulfillment_status)
    assert data["status"] == status


def test_a_refund_in_the_buyers_currency_is_counted_from_its_lines_in_shop_money():
    refund = {
        "transactions": [
            {"kind": "refund", "status": "success", "amount": "27.00", "currency": "EUR"}
        ],
        "refund_line_items": [
            {
                "subtotal_set": {"shop_money": {"amount": "29.99", "currency_code": "USD"}},
                "total_tax_set": {"shop_money": {"amount": "1.00", "currency_code": "USD"}},
            }
        ],
    }
    data = order_data(financial_status="partially_refunded", refunds=[refund])
    assert data["refunded"] == "30.99"


def test_a_refund_transaction_with_shop_money_is_taken_as_is():
    transaction = {
        "kind": "refund",
        "amount": "27.00",
        "currency": "EUR",
        "amount_set": {"shop_money": {"amount": "29.00", "currency_code": "USD"}},
    }
    data = order_data(
        financial_status="partially_refunded", refunds=[{"transactions": [transaction]}]
    )
    assert data["refunded"] == "29.00"


def test_lines_are_named_after_their_variant():
    lines = [
        {"title": "Pen", "variant_title": "Fine / Red", "quantity": 1, "price": "5"},
        {
            "title": "Pen",
            "name": "Pen - Broad",
            "variant_title": "Broad",
            "quantity": 1,
            "price": "5",
        },
        {"title": "Ink", "variant_title": None, "quantity": 1, "price": "2"},
    ]
    names = [item["name"] for item in order_data(line_items=lines)["items"]]
    assert names == ["Pen - Fine / Red", "Pen - Broad", "Ink"]


def test_shop_money_wins_over_the_presentment_amounts():
    data = order_data(
        currency="USD",
        total_price="50.00",
        total_price_set={
            "shop_money": {"amount": "55.00", "currency_code": "USD"},
            "presentment_money": {"amount": "50.00", "currency_code": "EUR"},
        },
        test=True,
    )
    assert data["total"] == "55.00" and data["test"] is True
    assert data["presentment"] == {"currency": "EUR", "total": "50.00"}
    assert order_data()["presentment"] is None and order_data()["test"] is False


def test_orders_delete_becomes_a_deletion_of_that_order():
    delivery = connector().parse_webhook({"X-Shopify-Topic": "orders/delete"}, b'{"id": 450789469}')
    assert [(e.kind, e.data) for e in delivery.events] == [
        (ORDER_UPSERT, {"external_id": "450789469", "deleted": True})
    ]
    with pytest.raises(MalformedWebhook):
        connector().parse_webhook({"X-Shopify-Topic": "orders/delete"}, b"{}")


def test_unknown_topics_are_ignored_without_parsing_the_body():
    delivery = connector().parse_webhook({"X-Shopify-Topic": "products/update"}, b"not json")
    assert [e.kind for e in delivery.events] == [IGNORED]


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"name": "no id"}', b'{"id": 1, "line_items": [1]}']
)
def test_malformed_order_bodies_raise(body):
    with pytest.raises(MalformedWebhook):
        connector().parse_webhook({"X-Shopify-Topic": "orders/updated"}, body)


def test_sync_follows_link_header_page_info_cursors(fake_shopify):
    for number in range(1, 6):
        fake_shopify.add_order(number, f"2025-01-0{number}T00:00:00Z")
    progress = []
    pages = list(
        connector(fake_shopify, NEBULO_SHOPIFY_PAGE_SIZE=2).sync(
            None, lambda p, m: progress.append(p)
        )
    )
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [e.data["external_id"] for page in pages for e in page] == ["1", "2", "3", "4", "5"]
    listing = [r for r in fake_shopify.requests if r.path.endswith("/orders.json")]
    assert "page_info" not in listing[0].query and listing[0].query["status"] == "any"
    assert set(listing[1].query) == {"limit", "page_info"}
    assert progress[0] == 0 and progress[-1] == 99 and progress == sorted(progress)


def test_sync_is_incremental_from_the_last_sync(fake_shopify):
    fake_shopify.add_order(1, "2025-01-01T00:00:00Z")
    fake_shopify.add_order(2, "2025-02-01T00:00:00Z")
    from datetime import UTC, datetime

    pages = list(connector(fake_shopify).sync(datetime(2025, 1, 15, tzinfo=UTC), lambda p, m: None))
    assert [e.data["external_id"] for page in pages for e in page] == ["2"]
    assert fake_shopify.requests[-1].query["updated_at_min"] == "2025-01-15T00:00:00+00:00"


def test_sync_waits_for_retry_after_on_429(fake_shopify):
    fake_shopify.add_order(1, "2025-01-01T00:00:00Z")
    fake_shopify.script(200, {"count": 1})
    fake_shopify.script(
        429,
        {
            "errors": "Exceeded 2 calls per second for api client. "
            "Reduce request rates to resume uninterrupted service."
        },
        {"Retry-After": "0.3"},
    )
    started = time.monotonic()
    pages = list(connector(fake_shopify).sync(None, lambda p, m: None))
    assert time.monotonic() - started >= 0.3
    assert [e.data["external_id"] for page in pages for e in page] == ["1"]
    assert len([r for r in fake_shopify.requests if r.path.endswith("/orders.json")]) == 2


def test_sync_with_a_wrong_token_is_a_provider_error(fake_shopify):
    shopify = ShopifyConnector(
        {"shop_url": "s.myshopify.com", "api_secret": SECRET, "access_token": "wrong"},
        connector_settings(NEBULO_SHOPIFY_BASE_URL=fake_shopify.url),
    )
    with pytest.raises(ProviderError) as raised:
        list(shopify.sync(None, lambda p, m: None))
    assert raised.value.status == 401 and not raised.value.retryable
    assert "Invalid API key" in str(raised.value)
    assert shopify.health()["ok"] is False
    assert connector(fake_shopify).health() == {"ok": True, "detail": "connected to Fake Store"}


def test_sync_without_an_access_token_says_what_to_add():
    shopify = ShopifyConnector(
        {"shop_url": "s.myshopify.com", "api_secret": SECRET}, connector_settings()
    )
    with pytest.raises(ProviderError, match="access_token"):
        list(shopify.sync(None, lambda p, m: None))
