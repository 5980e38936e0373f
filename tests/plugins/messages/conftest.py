"""An app whose provider base URLs point at local fake providers, and helpers to sign and
post webhooks and connect integrations through the HTTP API."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest

from core.app import create_app
from core.jobs import wait_for_jobs
from core.plugins import job_name
from plugins.messages import jobs
from tests.conftest import ApiClient
from tests.connectors.fakes import FakeShopify, FakeTelegram, FakeWhatsApp

SHOPIFY_CONFIG = {
    "api_key": "your-api-key",
    "api_secret": "shpss_app_secret_123",
    "shop_url": "yourstore.myshopify.com",
    "access_token": "shpat_test_token",
}
WHATSAPP_CONFIG = {
    "phone_number_id": "106540352242922",
    "access_token": "EAAG-test",
    "app_secret": "meta-app-secret-456",
    "verify_token": "my-verify-token",
}
TELEGRAM_CONFIG = {"bot_token": "123456:ABC-test", "secret_token": "hook-secret_1"}


@pytest.fixture(scope="session")
def fakes():
    with FakeShopify() as shopify, FakeWhatsApp() as whatsapp, FakeTelegram() as telegram:
        yield {"shopify": shopify, "whatsapp": whatsapp, "telegram": telegram}


@pytest.fixture(autouse=True)
def _reset_fakes(fakes):
    for fake in fakes.values():
        fake.requests.clear()
        fake.scripted.clear()
    fakes["shopify"].orders.clear()


@pytest.fixture(scope="session")
def messages_app(stack, app, fakes):
    """Shares the database of ``app`` (migrated); only the provider URLs differ."""
    plugin = {
        "NEBULO_SHOPIFY_BASE_URL": fakes["shopify"].url,
        "NEBULO_SHOPIFY_PAGE_SIZE": 2,
        "NEBULO_WHATSAPP_BASE_URL": fakes["whatsapp"].url,
        "NEBULO_TELEGRAM_BASE_URL": fakes["telegram"].url,
        "NEBULO_ASSISTANT_PROVIDER": "offline",
    }
    other = create_app(stack.settings(plugin=plugin))
    yield other
    other.extensions["nebulo"].db.dispose()


class Shop:
    """One project, its owner and helpers to reach the messages API."""

    def __init__(self, app, client, owner: dict[str, str], project: dict[str, Any]):
        self.app, self.client, self.owner, self.project = app, client, owner, project
        self.pid = project["id"]

    def connect(
        self, provider: str, config: dict | None = None, status: int = 201, **options
    ) -> dict:
        config = config if config is not None else CONFIGS[provider]
        response = self.client.post(
            f"/api/v1/integrations/{self.pid}/connect",
            json={"provider": provider, "config": config, **options},
            headers=self.owner,
        )
        assert response.status_code == status, response.get_json()
        return response.get_json()

    def get(self, path: str, **params) -> Any:
        response = self.client.get(f"/api/v1/{path}", headers=self.owner, query_string=params)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def post_webhook(self, integration: dict, body: bytes, headers: dict[str, str]):
        return self.client.post(
            f"/api/v1/webhooks/{integration['provider']}/{integration['id']}",
            data=body,
            headers={"Content-Type": "application/json", **headers},
        )

    def settle(self, timeout: float = 60.0) -> None:
        wait_for_jobs(self.app, timeout)

    def customer_writes(
        self, integration: dict, text: str = "Hello", phone: str = "14155550123", **options
    ) -> None:
        """A WhatsApp customer's message, processed: it opens their 24-hour window."""
        body = whatsapp_inbound(text, f"wamid.{uuid.uuid4().hex}", phone, **options)
        assert self.post_webhook(integration, body, whatsapp_headers(body)).status_code == 200
        self.settle()


CONFIGS = {"shopify": SHOPIFY_CONFIG, "whatsapp": WHATSAPP_CONFIG, "telegram": TELEGRAM_CONFIG}


@pytest.fixture
def shop(messages_app) -> Shop:
    client = messages_app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    return Shop(messages_app, client, owner, api.project(owner))


@pytest.fixture
def quick_processing_retries(shop):
    """The processing job retried after 0.1 s instead of seconds to minutes; restored after."""
    registry = shop.app.extensions["nebulo"].registry.jobs
    name = job_name(jobs.process_deliveries)
    original = registry[name]
    registry[name] = dataclasses.replace(original, backoff=(0.1,))
    yield
    registry[name] = original


def shopify_headers(
    body: bytes, topic: str = "orders/create", webhook_id: str | None = None
) -> dict:
    digest = hmac.new(SHOPIFY_CONFIG["api_secret"].encode(), body, hashlib.sha256).digest()
    return {
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Shop-Domain": SHOPIFY_CONFIG["shop_url"],
    }


def whatsapp_headers(body: bytes) -> dict:
    digest = hmac.new(WHATSAPP_CONFIG["app_secret"].encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": "sha256=" + digest}


def telegram_headers() -> dict:
    return {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_CONFIG["secret_token"]}


def shopify_order(order_id: int = 1001, **extra: Any) -> dict:
    return {
        "id": order_id,
        "name": f"#{order_id}",
        "email": "john@example.com",
        "created_at": "2025-01-12T10:00:00Z",
        "updated_at": "2025-01-12T10:00:00Z",
        "total_price": "59.98",
        "currency": "USD",
        "financial_status": "paid",
        "fulfillment_status": None,
        "cancelled_at": None,
        "customer": {
            "id": 555,
            "first_name": "John",
            "last_name": "Doe",
            "email": "john@example.com",
            "phone": "+14155550123",
        },
        "line_items": [{"title": "Product A", "sku": None, "quantity": 2, "price": "29.99"}],
        **extra,
    }


WRITTEN_AT = int(time.time())
"""When the fixtures' WhatsApp customers write: this run, so their 24-hour window is open."""


def whatsapp_inbound(
    text: str,
    message_id: str = "wamid.IN1",
    phone: str = "14155550123",
    timestamp: int = WRITTEN_AT,
) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": "15550001111",
            "phone_number_id": WHATSAPP_CONFIG["phone_number_id"],
        },
        "contacts": [{"profile": {"name": "John Doe"}, "wa_id": phone}],
        "messages": [
            {
                "from": phone,
                "id": message_id,
                "timestamp": str(timestamp),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    return _whatsapp(value)


def whatsapp_status(
    message_id: str, status: str, errors: list | None = None, reference: str | None = None
) -> bytes:
    entry: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "timestamp": "1736676100",
        "recipient_id": "1",
    }
    if errors:
        entry["errors"] = errors
    if reference:
        entry["biz_opaque_callback_data"] = reference
    return _whatsapp({"messaging_product": "whatsapp", "statuses": [entry]})


def _whatsapp(value: dict) -> bytes:
    change = {"field": "messages", "value": value}
    return json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}
    ).encode()


def telegram_update(update_id: int, text: str, chat_id: int = 777, message_id: int = 1) -> bytes:
    message = {
        "message_id": message_id,
        "date": 1736676000,
        "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Ana", "username": "ana"},
        "text": text,
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()
