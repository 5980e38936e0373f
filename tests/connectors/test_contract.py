import pytest

from connectors.base import (
    EVENT_KINDS,
    MESSAGE_EDITED,
    MESSAGE_TYPES,
    SENDER_CHANGED,
    ConfigField,
    Connector,
    Delivery,
    NormalizedEvent,
    ProviderError,
    signature_matches,
)
from connectors.shopify.connector import ShopifyConnector
from connectors.telegram.connector import TelegramConnector
from connectors.whatsapp.connector import WhatsAppConnector
from core.errors import Invalid
from core.plugins import PluginManager
from tests.connectors.conftest import connector_settings
from tests.connectors.fakes import FakeWhatsApp


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
