import pytest

from connectors.base import Connector, signature_matches
from connectors.shopify.connector import ShopifyConnector
from connectors.telegram.connector import TelegramConnector
from connectors.whatsapp.connector import WhatsAppConnector
from core.errors import Invalid
from core.plugins import PluginManager


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
