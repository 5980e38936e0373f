"""Issue #11, webhook intake: hostile but correctly signed deliveries, and what stays secret."""

import json
import logging
import uuid

import pytest
from sqlalchemy import select, text

from core.jobs import Job
from plugins.messages import links, vault
from plugins.messages.models import InboundDelivery
from tests.plugins.messages.conftest import (
    SHOPIFY_CONFIG,
    TELEGRAM_CONFIG,
    shopify_headers,
    shopify_order,
    telegram_headers,
    telegram_update,
    whatsapp_headers,
    whatsapp_inbound,
)


def deliveries(shop, integration) -> list:
    return shop.get(f"integrations/{shop.pid}/{integration['id']}/deliveries")


def stored_headers(shop, integration) -> list[dict]:
    with shop.app.extensions["nebulo"].db.session_scope() as session:
        return list(
            session.scalars(
                select(InboundDelivery.headers).where(
                    InboundDelivery.integration_id == uuid.UUID(integration["id"])
                )
            )
        )


SIGNED_HEADERS = {
    "shopify": lambda body: shopify_headers(body),
    "whatsapp": whatsapp_headers,
    "telegram": lambda body: telegram_headers(),
}


# ---- a deeply nested body -------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(SIGNED_HEADERS))
def test_a_signed_body_nested_100000_deep_is_a_400_and_nothing_is_stored(shop, provider):
    integration = shop.connect(provider)
    depth = 100_000
    body = b'{"update_id": 1, "id": 1, "entry": ' + b"[" * depth + b"]" * depth + b"}"
    response = shop.post_webhook(integration, body, SIGNED_HEADERS[provider](body))
    assert response.status_code == 400, response.get_json()
    answer = response.get_json()
    assert answer["code"] == "BAD_REQUEST" and "nested" in answer["detail"]
    assert deliveries(shop, integration) == []


def test_a_nested_value_the_parser_accepts_is_processed_without_recursion(shop):
    integration = shop.connect("shopify")
    nested = json.loads("[" * 800 + '"#\\u0000"' + "]" * 800)
    body = json.dumps(shopify_order(5001, name=nested)).encode()
    assert shop.post_webhook(integration, body, shopify_headers(body)).status_code == 200
    shop.settle()
    [delivery] = deliveries(shop, integration)
    assert delivery["status"] == "processed", delivery["error"]


# ---- NUL characters -------------------------------------------------------------------------


def test_a_telegram_message_with_nul_characters_is_stored_with_replacement_characters(shop):
    telegram = shop.connect("telegram")
    update = json.loads(telegram_update(6001, "Where\u0000 is it?"))
    update["message"]["from"].update(first_name="A\u0000na", username="a\u0000na")
    body = json.dumps(update).encode()
    assert shop.post_webhook(telegram, body, telegram_headers()).status_code == 200
    shop.settle()
    [delivery] = deliveries(shop, telegram)
    assert delivery["status"] == "processed" and delivery["error"] is None
    [message] = shop.get(f"messages/{shop.pid}/inbox")
    assert message["content"] == "Where\ufffd is it?"
    assert message["sender"]["name"] == "A\ufffdna" and message["sender"]["username"] == "a\ufffdna"
    customer = shop.get(f"customers/{shop.pid}/{message['customer_id']}")
    assert customer["name"] == "A\ufffdna"


def test_a_whatsapp_message_with_nul_characters_is_stored_with_replacement_characters(shop):
    whatsapp = shop.connect("whatsapp")
    body = whatsapp_inbound("hi\u0000there", message_id="wamid.\u0000NUL")
    body = body.replace(b"John Doe", b"John\\u0000Doe")
    assert shop.post_webhook(whatsapp, body, whatsapp_headers(body)).status_code == 200
    shop.settle()
    [delivery] = deliveries(shop, whatsapp)
    assert delivery["status"] == "processed" and delivery["error"] is None
    [message] = shop.get(f"messages/{shop.pid}/inbox")
    assert message["content"] == "hi\ufffdthere" and message["sender"]["name"] == "John\ufffdDoe"
    assert message["provider_message_id"] == "wamid.\ufffdNUL"


def test_a_database_error_while_processing_leaves_no_sql_in_the_error_viewers_read(
    shop, monkeypatch, caplog, quick_processing_retries
):
    def failing_query(session, ctx, customer_id):
        session.execute(text("SELECT nebulo_no_such_column FROM messages"))

    monkeypatch.setattr(links, "latest_order_id", failing_query)
    whatsapp = shop.connect("whatsapp")
    body = whatsapp_inbound("Where is my order?")
    with caplog.at_level(logging.ERROR):
        shop.post_webhook(whatsapp, body, whatsapp_headers(body))
        shop.settle()
    [delivery] = deliveries(shop, whatsapp)
    assert delivery["status"] == "failed"
    assert delivery["error"] == (
        f"Applying delivery {delivery['id']} failed on an internal error "
        "(the details are in the server log)"
    )
    assert "nebulo_no_such_column" in caplog.text
    with shop.app.extensions["nebulo"].db.session_scope() as session:
        job_errors = session.scalars(
            select(Job.error).where(Job.project_id == uuid.UUID(shop.pid), Job.error.is_not(None))
        ).all()
    assert job_errors and not any("nebulo_no_such_column" in error for error in job_errors)


# ---- Shopify quantities ---------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [-2, 0, 1.5, "two", None, True, 10**20])
def test_an_order_line_without_a_positive_integer_quantity_fails_the_delivery_visibly(
    shop, quick_processing_retries, quantity
):
    integration = shop.connect("shopify")
    line = {"title": "Product A", "sku": None, "quantity": quantity, "price": "29.99"}
    body = json.dumps(shopify_order(3001, line_items=[line])).encode()
    response = shop.post_webhook(integration, body, shopify_headers(body, webhook_id="wh-q"))
    assert response.get_json()["status"] == "accepted"
    shop.settle()
    [delivery] = deliveries(shop, integration)
    assert delivery["status"] == "failed"
    assert f"quantity {quantity!r} is not a whole number from 1 to" in delivery["error"]
    assert shop.get(f"orders/{shop.pid}", provider="shopify", days=3650) == []


# ---- stored headers -------------------------------------------------------------------------


def test_signature_and_secret_headers_are_stored_redacted(shop):
    telegram = shop.connect("telegram")
    body = telegram_update(7001, "hello")
    shop.post_webhook(
        telegram,
        body,
        {**telegram_headers(), "Authorization": "Bearer abc", "Cookie": "session=abc"},
    )
    shopify = shop.connect("shopify")
    order = json.dumps(shopify_order(4001)).encode()
    shop.post_webhook(shopify, order, shopify_headers(order))
    whatsapp = shop.connect("whatsapp")
    message = whatsapp_inbound("hi")
    shop.post_webhook(whatsapp, message, whatsapp_headers(message))
    shop.settle()
    [telegram_stored] = stored_headers(shop, telegram)
    assert telegram_stored["X-Telegram-Bot-Api-Secret-Token"] == "[redacted]"
    assert TELEGRAM_CONFIG["secret_token"] not in json.dumps(telegram_stored)
    assert "abc" not in json.dumps(telegram_stored)
    [shopify_stored] = stored_headers(shop, shopify)
    assert shopify_stored["X-Shopify-Hmac-Sha256"] == "[redacted]"
    assert shopify_stored["X-Shopify-Topic"] == "orders/create"
    [whatsapp_stored] = stored_headers(shop, whatsapp)
    assert whatsapp_stored["X-Hub-Signature-256"] == "[redacted]"
    assert all(d["status"] == "processed" for d in deliveries(shop, shopify))


# ---- masked secrets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("shpss_app_secret_123", "****_123"),
        ("your-api-key", "****-key"),
        ("short-secret", "****cret"),
        ("elevenchars", "****"),
        ("abc", "****"),
        ("", "****"),
    ],
)
def test_masked_secrets_show_at_most_the_last_4_characters(secret, shown):
    assert vault.mask(secret) == shown


def test_integrations_show_secrets_masked_to_their_last_4_characters(shop):
    integration = shop.connect("shopify")
    assert integration["config"]["api_secret"] == "****_123"
    assert SHOPIFY_CONFIG["api_secret"][:-4] not in json.dumps(integration)
