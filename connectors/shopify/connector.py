"""Shopify: order webhooks signed with the app secret and the Admin REST API orders listing."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx

from connectors.base import (
    IGNORED,
    ORDER_UPSERT,
    ConfigField,
    Connector,
    Delivery,
    MalformedWebhook,
    NormalizedEvent,
    Progress,
    ProviderError,
    body_fingerprint,
    call_with_rate_limit,
    header,
    hmac_sha256,
    load_json,
    signature_matches,
)

ORDER_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/paid",
    "orders/fulfilled",
)
SHOP_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*(:\d+)?$")
NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="?next"?')


def order_status(order: Mapping[str, Any]) -> str:
    """One Nebulo status from Shopify's cancelled_at, financial and fulfillment statuses."""
    if order.get("cancelled_at"):
        return "cancelled"
    if order.get("financial_status") in ("refunded", "partially_refunded"):
        return "refunded"
    if order.get("fulfillment_status") == "fulfilled":
        return "fulfilled"
    if order.get("financial_status") == "paid":
        return "paid"
    return "pending"


def order_event(order: Mapping[str, Any]) -> NormalizedEvent:
    """An ``order_upsert`` from a Shopify order object (webhook body or orders.json entry)."""
    if not isinstance(order, Mapping) or order.get("id") is None:
        raise MalformedWebhook("the order has no id")
    customer = order.get("customer") or {}
    address = order.get("shipping_address") or order.get("billing_address") or {}
    name = " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p)
    try:
        items = [
            {
                "name": str(line.get("title") or line.get("name") or "item"),
                "sku": line.get("sku") or None,
                "quantity": int(line.get("quantity", 1)),
                "price": str(line.get("price", "0")),
            }
            for line in order.get("line_items") or []
        ]
    except (TypeError, ValueError, AttributeError):
        raise MalformedWebhook("the order's line_items are not valid") from None
    return NormalizedEvent(
        ORDER_UPSERT,
        {
            "external_id": str(order["id"]),
            "number": order.get("name"),
            "status": order_status(order),
            "total": str(order.get("total_price") or "0"),
            "currency": order.get("currency") or "USD",
            "order_date": order.get("created_at"),
            "updated_at": order.get("updated_at"),
            "customer": {
                "external_id": str(customer["id"]) if customer.get("id") is not None else None,
                "name": name or address.get("name") or None,
                "email": customer.get("email") or order.get("email") or None,
                "phone": customer.get("phone")
                or order.get("phone")
                or address.get("phone")
                or None,
            },
            "items": items,
        },
    )


class ShopifyConnector(Connector):
    provider: ClassVar[str] = "shopify"
    display_name: ClassVar[str] = "Shopify"
    supports_sync: ClassVar[bool] = True
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("shop_url", "The shop's domain, e.g. yourstore.myshopify.com."),
        ConfigField("api_secret", "The app's client secret; it signs the webhooks.", secret=True),
        ConfigField("api_key", "The app's API key.", required=False, secret=True),
        ConfigField(
            "access_token",
            "Admin API access token (needed to sync orders).",
            required=False,
            secret=True,
        ),
    )

    @classmethod
    def clean_field(cls, name: str, value: str) -> str:
        if name == "shop_url":
            domain = re.sub(r"^https?://", "", value, flags=re.IGNORECASE).rstrip("/")
            if not SHOP_DOMAIN.match(domain):
                raise ValueError("Give the shop's domain, e.g. yourstore.myshopify.com.")
            return domain.lower()
        return value

    # webhooks -----------------------------------------------------------------------------
    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, query: Mapping[str, str]
    ) -> bool:
        expected = base64.b64encode(hmac_sha256(self.config["api_secret"], raw_body))
        return signature_matches(expected, header(headers, "X-Shopify-Hmac-Sha256"))

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> Delivery:
        topic = header(headers, "X-Shopify-Topic") or ""
        delivery_id = (
            header(headers, "X-Shopify-Webhook-Id")
            or header(headers, "X-Shopify-Event-Id")
            or body_fingerprint(raw_body)
        )
        if topic not in ORDER_TOPICS:
            return Delivery(
                delivery_id,
                topic,
                [NormalizedEvent(IGNORED, {"reason": f"topic {topic or 'missing'}"})],
            )
        return Delivery(delivery_id, topic, [order_event(load_json(raw_body))])

    # Admin API ----------------------------------------------------------------------------
    def api_url(self, resource: str) -> str:
        base = self.settings.get("NEBULO_SHOPIFY_BASE_URL").format(shop=self.config["shop_url"])
        version = self.settings.get("NEBULO_SHOPIFY_API_VERSION")
        return f"{base.rstrip('/')}/admin/api/{version}/{resource}"

    def _headers(self) -> dict[str, str]:
        token = self.config.get("access_token")
        if not token:
            raise ProviderError(
                "Add an access_token to this Shopify integration to use the Admin API",
                code="NO_TOKEN",
            )
        return {"X-Shopify-Access-Token": token, "Accept": "application/json"}

    def _get(self, url: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        headers = self._headers()
        return call_with_rate_limit(
            lambda: self.request("GET", url, params=params, headers=headers)
        )

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        error = super().error_from_response(response)
        try:
            body = response.json()
        except ValueError:
            return error
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            error.message = errors if isinstance(errors, str) else str(errors)
        return error

    def sync(self, since: datetime | None, progress: Progress) -> Iterator[list[NormalizedEvent]]:
        """Orders updated since ``since``, oldest change first, one page at a time."""
        filters: dict[str, Any] = {"status": "any"}
        if since is not None:
            filters["updated_at_min"] = since.isoformat()
        total = self._get(self.api_url("orders/count.json"), filters).json().get("count", 0)
        url: str | None = self.api_url("orders.json")
        params: dict[str, Any] | None = {
            **filters,
            "limit": self.settings.get("NEBULO_SHOPIFY_PAGE_SIZE"),
            "order": "updated_at asc",
        }
        done = 0
        progress(0, f"{total} orders to sync")
        while url:
            response = self._get(url, params)
            orders = response.json().get("orders")
            if not isinstance(orders, list):
                raise ProviderError(
                    "Shopify answered orders.json without an orders list",
                    status=response.status_code,
                )
            yield [order_event(order) for order in orders]
            done += len(orders)
            progress(min(99, done * 100 // max(total, 1)), f"{done} of {total} orders")
            url, params = self._next_page(response), None

    @staticmethod
    def _next_page(response: httpx.Response) -> str | None:
        """The ``rel="next"`` URL of the Link header: it carries page_info and limit only."""
        for part in response.headers.get_list("Link"):
            match = NEXT_LINK.search(part)
            if match:
                return match.group(1)
        return None

    def health(self) -> dict[str, Any]:
        try:
            shop = self._get(self.api_url("shop.json")).json().get("shop", {})
        except ProviderError as error:
            return {"ok": False, "detail": str(error)}
        return {"ok": True, "detail": f"connected to {shop.get('name') or self.config['shop_url']}"}
