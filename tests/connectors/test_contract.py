import dataclasses
import json
from collections.abc import Iterator

import pytest

from connectors.base import (
    EVENT_KINDS,
    INBOUND_MESSAGE,
    MESSAGE_EDITED,
    MESSAGE_TYPES,
    SENDER_CHANGED,
    ConfigField,
    Connector,
    Delivery,
    MalformedWebhook,
    MediaContent,
    NormalizedEvent,
    ProviderError,
    header,
    load_json,
    signature_matches,
)
from connectors.shopify.connector import ShopifyConnector
from connectors.telegram.connector import TelegramConnector
from connectors.whatsapp.connector import WhatsAppConnector
from core.errors import Invalid
from core.hookspecs import hookimpl
from core.plugins import PluginManager, job_name
from core.testing import ApiClient
from plugins.messages.jobs import process_deliveries
from tests.connectors.conftest import connector_settings
from tests.connectors.fakes import FakeWhatsApp
from tests.plugins.messages.conftest import Shop


def test_connectors_register_by_provider_through_entry_points():
    manager = PluginManager()
    registry = manager.load(manager.discover())
    assert registry.connectors["shopify"] is ShopifyConnector
    assert registry.connectors["whatsapp"] is WhatsAppConnector
    assert registry.connectors["telegram"] is TelegramConnector
    assert "NEBULO_WHATSAPP_BASE_URL" in registry.settings


def test_every_connector_implements_the_contract():
    for connector in (ShopifyConnector, WhatsAppConnector, TelegramConnector):
        assert issubclass(connector, Connector) and connector.provider
        assert not getattr(connector, "__abstractmethods__", None)
        assert connector.secret_fields()


def test_validate_config_cleans_and_declares_secrets():
    config = ShopifyConnector.validate_config(
        {
            "api_key": "your-api-key",
            "api_secret": "s3cret",
            "shop_url": "https://YourStore.myshopify.com/",
        }
    )
    assert config["shop_url"] == "yourstore.myshopify.com"
    assert ShopifyConnector.secret_fields() == {"api_key", "api_secret", "access_token"}


@pytest.mark.parametrize(
    ("connector", "config", "field"),
    [
        (ShopifyConnector, {"api_secret": "s"}, "config.shop_url"),
        (ShopifyConnector, {"api_secret": "s", "shop_url": "not a domain!"}, "config.shop_url"),
        (
            ShopifyConnector,
            {"api_secret": "s", "shop_url": "a.myshopify.com", "extra": 1},
            "config.extra",
        ),
        (ShopifyConnector, {"api_secret": 12, "shop_url": "a.myshopify.com"}, "config.api_secret"),
        (
            WhatsAppConnector,
            {"phone_number_id": "abc", "access_token": "t", "app_secret": "s", "verify_token": "v"},
            "config.phone_number_id",
        ),
        (TelegramConnector, {"bot_token": "nope", "secret_token": "ok"}, "config.bot_token"),
        (
            TelegramConnector,
            {"bot_token": "1:abc", "secret_token": "has space"},
            "config.secret_token",
        ),
    ],
)
def test_validate_config_names_the_bad_field(connector, config, field):
    with pytest.raises(Invalid) as raised:
        connector.validate_config(config)
    assert field in raised.value.errors


def test_signature_comparison_rejects_missing_and_different_values():
    assert signature_matches("abc", "abc")
    assert not signature_matches("abc", "abd")
    assert not signature_matches("abc", None)
    assert not signature_matches("abc", "")


class ThirdPartyChat(Connector):
    """A connector written outside Nebulo: it uses only the contract."""

    provider = "thirdparty"
    config_fields = (ConfigField("token", "A token", secret=True),)

    def verify_webhook(self, headers, raw_body, query) -> bool:
        return True

    def parse_webhook(self, headers, raw_body) -> Delivery:
        return Delivery("1", "message", [])

    def health(self) -> dict:
        return {"ok": True, "detail": "fine"}


def test_the_contract_names_message_types_and_the_event_kinds_of_edits_and_number_changes():
    assert {"text", "image", "document", "button_reply", "list_reply", "reaction"} <= set(
        MESSAGE_TYPES
    )
    assert {MESSAGE_EDITED, SENDER_CHANGED} <= set(EVENT_KINDS)
    edited = NormalizedEvent(
        MESSAGE_EDITED,
        {"provider_message_id": "c:1", "content": "new", "edited_at": "2025-01-01T00:00:00Z"},
    )
    assert edited.data["content"] == "new"
    with pytest.raises(ValueError, match="unknown event kind"):
        NormalizedEvent("message_deleted", {})


def test_a_connector_without_media_says_so():
    with pytest.raises(ProviderError) as raised:
        ThirdPartyChat({"token": "t"}, connector_settings()).fetch_media({"id": "1"})
    assert raised.value.code == "NOT_SUPPORTED"


def test_downloads_go_through_the_outbound_guard_and_stop_at_the_size_limit(
    fake_whatsapp: FakeWhatsApp,
):
    url = f"{fake_whatsapp.url}/media-files/1"
    auth = {"Authorization": "Bearer EAAG-test"}
    connector = ThirdPartyChat({"token": "t"}, connector_settings())
    fetched = connector.download(url, headers=auth)
    assert fetched.content == FakeWhatsApp.MEDIA_BYTES and fetched.mime_type == "image/jpeg"
    with pytest.raises(ProviderError) as raised:
        connector.download(url, headers=auth, max_bytes=4)
    assert raised.value.code == "MEDIA_TOO_LARGE"
    with pytest.raises(ProviderError) as raised:
        connector.download(url)
    assert raised.value.status == 401
    guarded = ThirdPartyChat({"token": "t"}, connector_settings(allow_private_urls=False))
    with pytest.raises(ProviderError) as raised:
        guarded.download(url, headers=auth)
    assert raised.value.code == "REFUSED_DESTINATION"
    assert len(fake_whatsapp.requests) == 3


# ---- a third-party connector, end to end ---------------------------------------------------

PICTURE = b"\x89PNG third-party picture"
SENT, EDITED = "2025-03-01T09:00:00+00:00", "2025-03-01T10:00:00+00:00"


class ThirdPartyInbox(Connector):
    """A messenger written outside Nebulo with only the contract: its webhook body is
    ``{"id", "events": [{"kind": "message" | "edit", ...}]}``, signed by its token."""

    provider = "thirdparty_inbox"
    supports_messages = True
    config_fields = (ConfigField("token", "The token it signs with", secret=True),)

    def verify_webhook(self, headers, raw_body, query) -> bool:
        return signature_matches(self.config["token"], header(headers, "X-Inbox-Token"))

    def parse_webhook(self, headers, raw_body) -> Delivery:
        body = load_json(raw_body)
        try:
            events = [self._event(event) for event in body["events"]]
        except (KeyError, TypeError):
            raise MalformedWebhook("events must be a list of messages and edits") from None
        return Delivery(str(body["id"]), "messages", events)

    @staticmethod
    def _event(event: dict) -> NormalizedEvent:
        data = {
            "provider_message_id": event["id"],
            "content": event.get("caption") or event.get("text") or "",
            "message_type": "image" if event.get("picture") else "text",
            "sender": {"chat_id": event["chat"], "name": event["name"]},
            "sent_at": event["at"],
        }
        if event.get("picture"):
            data["media"] = {"id": event["picture"], "mime_type": "image/png", "file_name": None}
        if event["kind"] == "edit":
            return NormalizedEvent(MESSAGE_EDITED, {**data, "edited_at": event["edited_at"]})
        return NormalizedEvent(INBOUND_MESSAGE, data)

    def fetch_media(self, media) -> MediaContent:
        if media["id"] != "pic-1":
            raise ProviderError("no such picture", status=404)
        return MediaContent(PICTURE, media["mime_type"])

    def health(self) -> dict:
        return {"ok": True, "detail": "fine"}


class ThirdPartyInboxPlugin:
    @hookimpl
    def register_connectors(self, register):
        register(ThirdPartyInbox)


def inbox_event(kind: str, message_id: str, **fields) -> dict:
    return {"kind": kind, "id": message_id, "chat": "c-9", "name": "Ana", **fields}


@pytest.fixture
def inbox_shop(make_app) -> Iterator[Shop]:
    """A project on an app with the third-party messenger, its failed deliveries retried
    after 0.1 s (instead of minutes) so that a failure shows at once."""
    app = make_app(extra_plugins=[("thirdparty_inbox", ThirdPartyInboxPlugin())])
    registry = app.extensions["nebulo"].registry.jobs
    name = job_name(process_deliveries)
    registry[name] = dataclasses.replace(registry[name], backoff=(0.1,))
    client = app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    yield Shop(app, client, owner, api.project(owner))


def test_a_third_party_connector_stores_media_and_edits_through_the_webhook(inbox_shop):
    shop, client, owner = inbox_shop, inbox_shop.client, inbox_shop.owner
    integration = shop.connect("thirdparty_inbox", {"token": "inbox-secret-token"})

    def deliver(delivery_id: str, *events: dict, token: str = "inbox-secret-token"):
        body = json.dumps({"id": delivery_id, "events": list(events)}).encode()
        return shop.post_webhook(integration, body, {"X-Inbox-Token": token})

    refused = deliver("d0", inbox_event("message", "m0", text="x", at=SENT), token="bad")
    assert refused.status_code == 401
    picture = inbox_event("message", "m1", picture="pic-1", caption="is it broken?", at=SENT)
    text = inbox_event("message", "m2", text="size M please", at=SENT)
    assert deliver("d1", picture, text).get_json()["status"] == "accepted"
    edit = inbox_event("edit", "m2", text="size L please", at=SENT, edited_at=EDITED)
    assert deliver("d2", edit).get_json()["status"] == "accepted"
    assert deliver("d2", edit).get_json()["status"] == "duplicate"
    assert deliver("d3", {"kind": "message"}).status_code == 400
    shop.settle()
    deliveries = shop.get(f"integrations/{shop.pid}/{integration['id']}/deliveries")
    assert [(d["status"], d["error"]) for d in deliveries] == [("processed", None)] * 2

    stored = {m["provider_message_id"]: m for m in shop.get(f"messages/{shop.pid}/inbox")}
    assert sorted(stored) == ["m1", "m2"]
    image = stored["m1"]
    assert (image["content_type"], image["content"]) == ("image", "is it broken?")
    assert image["media"]["id"] == "pic-1" and image["sender"]["name"] == "Ana"
    edited = stored["m2"]
    assert edited["content"] == "size L please" and edited["edited_at"].startswith("2025-03-01T10")
    assert [version["content"] for version in edited["edit_history"]] == ["size M please"]
    assert image["customer_id"] == edited["customer_id"]
    media = client.get(f"/api/v1/messages/{shop.pid}/{image['id']}/media", headers=owner)
    assert media.status_code == 200 and media.data == PICTURE
    assert media.mimetype == "image/png"
    none = client.get(f"/api/v1/messages/{shop.pid}/{edited['id']}/media", headers=owner)
    assert none.status_code == 404
