from sqlalchemy import select

from plugins.messages.models import Integration
from tests.plugins.messages.conftest import SHOPIFY_CONFIG


def test_connect_masks_secrets_and_keeps_them_encrypted(shop):
    integration = shop.connect("shopify")
    assert integration["status"] == "connected" and integration["provider"] == "shopify"
    assert integration["config"] == {
        "api_key": "****-key",
        "api_secret": "****_123",
        "access_token": "****oken",
        "shop_url": "yourstore.myshopify.com",
    }
    assert integration["webhook_path"] == f"/api/v1/webhooks/shopify/{integration['id']}"
    with shop.app.extensions["nebulo"].db.session_scope() as session:
        row = session.scalar(select(Integration))
        stored = row.encrypted_secrets + str(row.public_config).encode()
    for secret in ("your-api-key", SHOPIFY_CONFIG["api_secret"], SHOPIFY_CONFIG["access_token"]):
        assert secret.encode() not in stored
    [listed] = shop.get(f"integrations/{shop.pid}")
    assert listed["config"] == integration["config"]


def test_connect_rejects_unknown_providers_and_bad_config(shop):
    response = shop.client.post(
        f"/api/v1/integrations/{shop.pid}/connect",
        json={"provider": "fax", "config": {}},
        headers=shop.owner,
    )
    assert response.status_code == 422 and "provider" in response.get_json()["errors"]
    body = shop.connect("shopify", {"api_key": "k"}, status=422)
    assert {"config.shop_url", "config.api_secret"} <= set(body["errors"])
    body = shop.connect("telegram", {"bot_token": "nope", "secret_token": "x"}, status=422)
    assert "config.bot_token" in body["errors"]
    response = shop.client.post(
        f"/api/v1/integrations/{shop.pid}/connect", json={"provider": "shopify"}, headers=shop.owner
    )
    assert response.status_code == 422
    assert shop.get(f"integrations/{shop.pid}") == []


def test_integrations_of_another_project_do_not_exist(shop, messages_app):
    from tests.conftest import ApiClient

    integration = shop.connect("whatsapp")
    stranger = ApiClient(shop.client).user_headers()
    url = f"/api/v1/integrations/{shop.pid}/{integration['id']}"
    assert shop.client.get(url, headers=stranger).status_code == 404
    assert shop.client.delete(url, headers=stranger).status_code == 404
    assert shop.client.get(url, headers=shop.owner).status_code == 200


def test_auto_reply_can_be_switched_and_disconnect_removes_it(shop):
    integration = shop.connect("telegram")
    url = f"/api/v1/integrations/{shop.pid}/{integration['id']}"
    response = shop.client.patch(
        url, json={"auto_reply": True, "human_handoff": "also"}, headers=shop.owner
    )
    assert response.status_code == 200 and response.get_json()["auto_reply"] is True
    assert (
        shop.client.patch(url, json={"human_handoff": "never"}, headers=shop.owner).status_code
        == 422
    )
    assert shop.client.delete(url, headers=shop.owner).status_code == 204
    assert shop.client.get(url, headers=shop.owner).status_code == 404


def test_sync_is_refused_for_channels_without_history(shop):
    integration = shop.connect("telegram")
    response = shop.client.post(
        f"/api/v1/integrations/{shop.pid}/{integration['id']}/sync", headers=shop.owner
    )
    assert response.status_code == 409
