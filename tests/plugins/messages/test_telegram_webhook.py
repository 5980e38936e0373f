"""A Telegram integration registers its webhook (setWebhook with the secret token) when it is
connected and checks it with getWebhookInfo; a failure shows on the integration."""

from __future__ import annotations

import pytest

from core.app import create_app
from tests.conftest import ApiClient
from tests.plugins.messages.conftest import TELEGRAM_CONFIG, Shop

PUBLIC = "https://ops.example.com"


@pytest.fixture(scope="module")
def public_app(stack, app, fakes):
    """The messages app with a public address (same database as ``app``)."""
    plugin = {
        "NEBULO_TELEGRAM_BASE_URL": fakes["telegram"].url,
        "NEBULO_WHATSAPP_BASE_URL": fakes["whatsapp"].url,
        "NEBULO_ASSISTANT_PROVIDER": "offline",
        "NEBULO_PUBLIC_URL": PUBLIC + "/",
    }
    other = create_app(stack.settings(plugin=plugin))
    yield other
    other.extensions["nebulo"].db.dispose()


@pytest.fixture
def public_shop(public_app) -> Shop:
    client = public_app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    return Shop(public_app, client, owner, api.project(owner))


def calls(fakes, method):
    return [r for r in fakes["telegram"].requests if r.path.endswith("/" + method)]


def test_connecting_registers_and_checks_the_webhook(public_shop, fakes):
    telegram = public_shop.connect("telegram")
    assert telegram["webhook"]["status"] == "pending"
    public_shop.settle()
    [registered] = calls(fakes, "setWebhook")
    url = f"{PUBLIC}/api/v1/webhooks/telegram/{telegram['id']}"
    assert registered.body["url"] == url
    assert registered.body["secret_token"] == TELEGRAM_CONFIG["secret_token"]
    assert "callback_query" in registered.body["allowed_updates"]
    assert len(calls(fakes, "getWebhookInfo")) == 1
    shown = public_shop.get(f"integrations/{public_shop.pid}/{telegram['id']}")
    assert shown["webhook"]["status"] == "registered" and shown["webhook"]["url"] == url
    assert shown["status"] == "connected" and shown["last_error"] is None


def test_a_refused_registration_is_shown_on_the_integration_and_can_be_redone(public_shop, fakes):
    fakes["telegram"].script(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    telegram = public_shop.connect("telegram")
    public_shop.settle()
    shown = public_shop.get(f"integrations/{public_shop.pid}/{telegram['id']}")
    assert shown["status"] == "error" and shown["webhook"]["status"] == "failed"
    assert "setWebhook failed" in shown["last_error"] and "Unauthorized" in shown["last_error"]
    assert TELEGRAM_CONFIG["bot_token"] not in str(shown)
    path = f"/api/v1/integrations/{public_shop.pid}/{telegram['id']}/webhook"
    again = public_shop.client.post(path, headers=public_shop.owner)
    assert again.status_code == 202 and again.get_json()["webhook"]["status"] == "pending"
    public_shop.settle()
    shown = public_shop.get(f"integrations/{public_shop.pid}/{telegram['id']}")
    assert shown["status"] == "connected" and shown["webhook"]["status"] == "registered"


def test_a_webhook_telegram_reports_failing_is_shown(public_shop, fakes):
    fakes["telegram"].script(200, {"ok": True, "result": True})
    fakes["telegram"].script(
        200,
        {
            "ok": True,
            "result": {
                "url": "https://elsewhere.example/hook",
                "pending_update_count": 12,
                "last_error_message": "Wrong response from the webhook: 502 Bad Gateway",
            },
        },
    )
    telegram = public_shop.connect("telegram")
    public_shop.settle()
    shown = public_shop.get(f"integrations/{public_shop.pid}/{telegram['id']}")
    assert shown["status"] == "error" and shown["webhook"]["pending_update_count"] == 12
    assert "elsewhere.example" in shown["webhook"]["error"]


def test_without_a_public_address_nothing_is_called_and_the_integration_says_so(shop, fakes):
    telegram = shop.connect("telegram")
    assert telegram["webhook"]["status"] == "not_registered"
    assert "NEBULO_PUBLIC_URL" in telegram["webhook"]["error"]
    shop.settle()
    assert calls(fakes, "setWebhook") == []
    whatsapp = shop.connect("whatsapp")
    assert whatsapp["webhook"] is None
    path = f"/api/v1/integrations/{shop.pid}/{whatsapp['id']}/webhook"
    assert shop.client.post(path, headers=shop.owner).status_code == 409
