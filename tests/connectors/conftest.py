from __future__ import annotations

import pytest

from core.config import Settings
from tests.connectors.fakes import FakeShopify, FakeTelegram, FakeWhatsApp


def connector_settings(*, allow_private_urls: bool = True, **plugin_values) -> Settings:
    """The fakes listen on 127.0.0.1, so private addresses are allowed unless a test says not."""
    values = {
        "NEBULO_SHOPIFY_BASE_URL": "https://{shop}",
        "NEBULO_SHOPIFY_API_VERSION": FakeShopify.API_VERSION,
        "NEBULO_SHOPIFY_PAGE_SIZE": 250,
        "NEBULO_WHATSAPP_BASE_URL": "https://graph.facebook.com/v21.0",
        "NEBULO_TELEGRAM_BASE_URL": "https://api.telegram.org",
    }
    values.update(plugin_values)
    return Settings(
        env="testing", secret_key="x" * 40, allow_private_urls=allow_private_urls, plugin=values
    )


@pytest.fixture
def fake_shopify():
    with FakeShopify() as fake:
        yield fake


@pytest.fixture
def fake_whatsapp():
    with FakeWhatsApp() as fake:
        yield fake


@pytest.fixture
def fake_telegram():
    with FakeTelegram() as fake:
        yield fake
