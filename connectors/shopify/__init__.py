"""Shopify connector plugin: order webhooks and the Admin API order sync."""

from __future__ import annotations

from core.config import Setting
from core.hookspecs import hookimpl


@hookimpl
def plugin_info():
    return {
        "name": "shopify",
        "version": "0.1.0",
        "description": "Shopify orders: webhooks and sync",
    }


@hookimpl
def register_settings(register):
    register(
        Setting(
            "NEBULO_SHOPIFY_BASE_URL",
            "https://{shop}",
            "Shopify Admin API base URL; {shop} is the shop's domain",
        )
    )
    register(
        Setting("NEBULO_SHOPIFY_PAGE_SIZE", 250, "Orders per Admin API page (max 250)", _page_size)
    )
    register(Setting("NEBULO_SHOPIFY_API_VERSION", "2024-10", "Shopify Admin REST API version"))


def _page_size(value: str) -> int:
    size = int(value)
    if not 1 <= size <= 250:
        raise ValueError("Shopify pages hold 1 to 250 orders")
    return size


@hookimpl
def register_connectors(register):
    from connectors.shopify.connector import ShopifyConnector

    register(ShopifyConnector)
