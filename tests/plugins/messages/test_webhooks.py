import json

import pytest
from sqlalchemy import select

from core.jobs import Job
from core.plugins import job_name
from plugins.messages import jobs
from tests.plugins.messages.conftest import (
    shopify_headers,
    shopify_order,
    telegram_headers,
    telegram_update,
    whatsapp_headers,
    whatsapp_inbound,
    whatsapp_status,
)


def deliveries(shop, integration) -> list:
    return shop.get(f"integrations/{shop.pid}/{integration['id']}/deliveries")


def shopify_orders(shop) -> list:
    return shop.get(f"orders/{shop.pid}", provider="shopify", days=3650)


def test_signed_shopify_order_is_stored_then_upserted_with_its_customer(shop):
    integration = shop.connect("shopify")
    body = json.dumps(shopify_order()).encode()
    response = shop.post_webhook(integration, body, shopify_headers(body, webhook_id="wh-1"))
    assert response.status_code == 200
    assert response.get_json() == {"status": "accepted", "delivery_id": "wh-1"}
    shop.settle()
    [delivery] = deliveries(shop, integration)
    assert delivery["status"] == "processed" and delivery["topic"] == "orders/create"
    [order] = shopify_orders(shop)
    assert order["external_id"] == "1001" and order["status"] == "paid"
    assert order["customer_id"]
    customer = shop.get(f"customers/{shop.pid}/{order['customer_id']}")
    assert customer["email"] == "john@example.com" and customer["phone"] == "+14155550123"


def test_replayed_deliveries_are_applied_once(shop):
    integration = shop.connect("shopify")
    body = json.dumps(shopify_order()).encode()
    headers = shopify_headers(body, webhook_id="wh-same")
    assert shop.post_webhook(integration, body, headers).get_json()["status"] == "accepted"
    assert shop.post_webhook(integration, body, headers).get_json()["status"] == "duplicate"
    shop.settle()
    assert len(deliveries(shop, integration)) == 1
    # A new delivery of the same order (another webhook id) updates it instead of duplicating it.
    cancelled = json.dumps(shopify_order(cancelled_at="2025-01-13T00:00:00Z")).encode()
    shop.post_webhook(integration, cancelled, shopify_headers(cancelled, "orders/cancelled"))
    shop.settle()
    [order] = shopify_orders(shop)
    assert order["status"] == "cancelled"


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Shopify-Hmac-Sha256": "bm90IGEgc2lnbmF0dXJl", "X-Shopify-Topic": "orders/create"}],
)
def test_bad_signatures_get_401_and_nothing_is_stored(shop, headers):
    integration = shop.connect("shopify")
    body = json.dumps(shopify_order()).encode()
    response = shop.post_webhook(integration, body, headers)
    assert response.status_code == 401
    tampered = shopify_headers(body)
    response = shop.post_webhook(integration, body.replace(b"59.98", b"0.01"), tampered)
    assert response.status_code == 401
    shop.settle()
    assert deliveries(shop, integration) == [] and shopify_orders(shop) == []


def test_malformed_bodies_get_400_and_unknown_topics_200_recorded_as_skipped(shop):
    integration = shop.connect("shopify")
    body = b'{"no": "id"}'
    response = shop.post_webhook(integration, body, shopify_headers(body))
    assert response.status_code == 400 and response.get_json()["code"] == "BAD_REQUEST"
    body = b'{"id": 1, "title": "A product"}'
    response = shop.post_webhook(integration, body, shopify_headers(body, topic="products/update"))
    answer = response.get_json()
    assert response.status_code == 200 and answer["status"] == "skipped" and answer["reasons"]
    [delivery] = deliveries(shop, integration)
    assert delivery["status"] == "skipped" and delivery["skip_reasons"] == answer["reasons"]


def test_webhook_urls_must_name_the_integration_and_its_provider(shop):
    integration = shop.connect("shopify")
    body = json.dumps(shopify_order()).encode()
    url = f"/api/v1/webhooks/whatsapp/{integration['id']}"
    assert shop.client.post(url, data=body, headers=shopify_headers(body)).status_code == 404
    url = "/api/v1/webhooks/shopify/00000000-0000-0000-0000-000000000000"
    assert shop.client.post(url, data=body, headers=shopify_headers(body)).status_code == 404
    assert shop.client.post("/api/v1/webhooks/shopify/not-a-uuid", data=body).status_code == 400


def test_raw_bodies_of_any_content_type_are_accepted(shop):
    integration = shop.connect("shopify")
    body = json.dumps(shopify_order()).encode()
    response = shop.client.post(
        f"/api/v1/webhooks/shopify/{integration['id']}",
        data=body,
        headers={**shopify_headers(body), "Content-Type": "text/plain"},
    )
    assert response.status_code == 200


def test_whatsapp_handshake_echoes_the_challenge(shop):
    integration = shop.connect("whatsapp")
    url = f"/api/v1/webhooks/whatsapp/{integration['id']}"
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": "my-verify-token",
        "hub.challenge": "1158201444",
    }
    response = shop.client.get(url, query_string=query)
    assert response.status_code == 200 and response.get_data(as_text=True) == "1158201444"
    response = shop.client.get(url, query_string={**query, "hub.verify_token": "guess"})
    assert response.status_code == 401


def test_whatsapp_text_becomes_an_inbound_message_of_the_customer_and_latest_order(shop):
    shopify = shop.connect("shopify")
    order_body = json.dumps(shopify_order()).encode()
    shop.post_webhook(shopify, order_body, shopify_headers(order_body))
    shop.settle()
    [order] = shopify_orders(shop)
    whatsapp = shop.connect("whatsapp")
    body = whatsapp_inbound("Where is my order?")
    assert shop.post_webhook(whatsapp, body, whatsapp_headers(body)).status_code == 200
    assert (
        shop.post_webhook(whatsapp, body, whatsapp_headers(body)).get_json()["status"]
        == "duplicate"
    )
    shop.settle()
    [message] = shop.get(f"messages/{shop.pid}/inbox", direction="inbound")
    assert message["content"] == "Where is my order?" and message["provider"] == "whatsapp"
    assert message["sender"] == {"phone": "+14155550123", "name": "John Doe"}
    assert message["customer_id"] == order["customer_id"] and message["order_id"] == order["id"]
    assert message["is_read"] is False and message["ai_generated"] is False


def test_whatsapp_bad_signature_is_refused(shop):
    whatsapp = shop.connect("whatsapp")
    body = whatsapp_inbound("hi")
    response = shop.post_webhook(whatsapp, body, {"X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert response.status_code == 401
    shop.settle()
    assert shop.get(f"messages/{shop.pid}/inbox") == []


def test_whatsapp_status_callbacks_move_outbound_messages_forward_only(shop):
    whatsapp = shop.connect("whatsapp")
    shop.customer_writes(whatsapp)
    response = shop.client.post(
        f"/api/v1/messages/{shop.pid}/send",
        json={
            "provider": "whatsapp",
            "content": "Shipped!",
            "recipient": {"phone": "+14155550123"},
        },
        headers=shop.owner,
    )
    assert response.status_code == 202
    shop.settle()
    sent = shop.get(f"messages/{shop.pid}/{response.get_json()['id']}")
    for status in ("read", "delivered"):
        body = whatsapp_status(sent["provider_message_id"], status)
        shop.post_webhook(whatsapp, body, whatsapp_headers(body))
        shop.settle()
    message = shop.get(f"messages/{shop.pid}/{sent['id']}")
    assert message["status"] == "read" and message["read_at"] and message["delivered_at"]


def test_telegram_updates_are_checked_and_applied_once_per_chat_and_message(shop):
    telegram = shop.connect("telegram")
    body = telegram_update(5001, "Hola, any news on my order?")
    assert (
        shop.post_webhook(telegram, body, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code
        == 401
    )
    assert shop.post_webhook(telegram, body, telegram_headers()).get_json()["status"] == "accepted"
    assert shop.post_webhook(telegram, body, telegram_headers()).get_json()["status"] == "duplicate"
    # The Bot API restarted its update ids: an old update_id carries a new message.
    restarted = telegram_update(5001, "Still waiting", message_id=2)
    assert (
        shop.post_webhook(telegram, restarted, telegram_headers()).get_json()["status"]
        == "accepted"
    )
    shop.settle()
    messages = shop.get(f"messages/{shop.pid}/inbox")
    assert [m["content"] for m in messages] == ["Still waiting", "Hola, any news on my order?"]
    assert messages[1]["sender"]["chat_id"] == "777" and messages[1]["customer_id"]
    customer = shop.get(f"customers/{shop.pid}/{messages[1]['customer_id']}")
    assert customer["name"] == "Ana"


def test_webhooks_are_public_in_the_openapi_document(shop):
    spec = shop.client.get("/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/webhooks/{provider}/{integration_id}"]["post"]
    assert operation["security"] == []


def test_failed_processing_is_retried_shown_and_spares_the_other_deliveries(
    shop, quick_processing_retries
):
    integration = shop.connect("shopify")
    bad = json.dumps(shopify_order(2001, currency="ABC")).encode()
    free = [{"title": "Gift", "sku": None, "quantity": 1, "price": "free"}]
    unpriced = json.dumps(shopify_order(2003, line_items=free)).encode()
    good = json.dumps(shopify_order(2002)).encode()
    for body, webhook_id in ((bad, "wh-bad"), (unpriced, "wh-free"), (good, "wh-good")):
        response = shop.post_webhook(
            integration, body, shopify_headers(body, webhook_id=webhook_id)
        )
        assert response.get_json()["status"] == "accepted"
    shop.settle()
    assert [order["external_id"] for order in shopify_orders(shop)] == ["2002"]
    by_id = {delivery["delivery_id"]: delivery for delivery in deliveries(shop, integration)}
    assert by_id["wh-good"]["status"] == "processed" and by_id["wh-good"]["error"] is None
    failed = by_id["wh-bad"]
    assert failed["status"] == "failed" and "ISO 4217" in failed["error"]
    assert by_id["wh-free"]["status"] == "failed" and "'free'" in by_id["wh-free"]["error"]
    listed = shop.get(f"integrations/{shop.pid}/{integration['id']}/deliveries", status="failed")
    assert sorted(delivery["delivery_id"] for delivery in listed) == ["wh-bad", "wh-free"]
    with shop.app.extensions["nebulo"].db.session_scope() as session:
        attempts = session.scalars(
            select(Job.attempts).where(Job.name == job_name(jobs.process_deliveries))
        ).all()
    assert max(attempts) == jobs.PROCESS_RETRIES + 1
