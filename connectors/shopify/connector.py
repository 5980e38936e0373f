"""Shopify: order webhooks signed with the app secret and the Admin REST API orders listing."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

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
    provider_message,
    signature_matches,
)

if TYPE_CHECKING:
    import httpx

ORDER_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/paid",
    "orders/fulfilled",
    "orders/delete",
)
# The shop's domain is the user's to give; the base URL it goes into is the operator's.
SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com")
NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="?next"?')


def order_status(order: Mapping[str, Any]) -> str:
    """One Nebulo status from Shopify's cancelled_at, financial and fulfillment statuses. A
    partial refund keeps the order paid (its refunded amount is recorded apart)."""
    if order.get("cancelled_at"):
        return "cancelled"
    if order.get("financial_status") == "refunded":
        return "refunded"
    if order.get("fulfillment_status") == "fulfilled":
        return "fulfilled"
    if order.get("financial_status") in ("paid", "partially_refunded"):
        return "paid"
    return "pending"


def shop_amount(owner: Mapping[str, Any], name: str) -> Any:
    """``name`` in the shop's currency: ``<name>_set.shop_money`` when Shopify sends it (API
    2019-10 and later), else the bare field, which is the shop's amount too."""
    money = ((owner.get(f"{name}_set") or {}).get("shop_money")) or {}
    amount = money.get("amount")
    return amount if amount is not None else owner.get(name)


def presentment(order: Mapping[str, Any], shop_currency: str) -> dict[str, Any] | None:
    """The total in the currency the buyer paid in, when that is not the shop's."""
    money = ((order.get("total_price_set") or {}).get("presentment_money")) or {}
    currency = money.get("currency_code") or order.get("presentment_currency")
    if not currency or currency == shop_currency or money.get("amount") is None:
        return None
    return {"currency": currency, "total": str(money["amount"])}


def refunded_amount(order: Mapping[str, Any], shop_currency: str) -> str:
    """What was given back, in the shop's currency: the successful refund transactions, or the
    refunded lines when a transaction carries only a foreign amount; all of it when Shopify
    says the order is refunded."""
    if order.get("financial_status") == "refunded":
        return str(shop_amount(order, "total_price") or "0")
    refunded = Decimal("0")
    for refund in order.get("refunds") or []:
        transactions = [
            t
            for t in refund.get("transactions") or []
            if t.get("kind") == "refund" and t.get("status", "success") == "success"
        ]
        shop_money = [_transaction_in_shop_money(t, shop_currency) for t in transactions]
        if transactions and None not in shop_money:
            refunded += sum(shop_money, Decimal("0"))
        else:
            for line in refund.get("refund_line_items") or []:
                refunded += _decimal(shop_amount(line, "subtotal")) + _decimal(
                    shop_amount(line, "total_tax")
                )
    return str(refunded)


def _transaction_in_shop_money(transaction: Mapping[str, Any], shop_currency: str) -> Any:
    in_shop = shop_amount(transaction, "amount") if transaction.get("amount_set") else None
    if in_shop is not None:
        return _decimal(in_shop)
    if transaction.get("currency") in (None, shop_currency):
        return _decimal(transaction.get("amount"))
    return None


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value is not None else "0"))
    except InvalidOperation:
        raise MalformedWebhook(f"the amount {value!r} is not a number") from None


def fulfilled_at(order: Mapping[str, Any]) -> Any:
    """When the order was fulfilled: its last successful fulfillment, else its last change."""
    if order.get("fulfillment_status") != "fulfilled":
        return None
    times = [
        f.get("created_at")
        for f in order.get("fulfillments") or []
        if f.get("status") == "success" and f.get("created_at")
    ]
    return max(times, default=None) or order.get("updated_at")


def line_name(line: Mapping[str, Any]) -> str:
    """The variant's name ("IPod Nano - 8gb - green"), as Shopify shows it on the order."""
    if line.get("name"):
        return str(line["name"])
    title, variant = line.get("title"), line.get("variant_title")
    return f"{title} - {variant}" if title and variant else str(title or variant or "item")


def order_event(order: Mapping[str, Any]) -> NormalizedEvent:
    """An ``order_upsert`` from a Shopify order object (webhook body or orders.json entry)."""
    if not isinstance(order, Mapping) or order.get("id") is None:
        raise MalformedWebhook("the order has no id")
    customer = order.get("customer") or {}
    address = order.get("shipping_address") or order.get("billing_address") or {}
    name = " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p)
    currency = order.get("currency") or "USD"
    try:
        items = [
            {
                "name": line_name(line),
                "sku": line.get("sku") or None,
                "quantity": line.get("quantity"),  # as given: not a count fails the order
                "price": str(shop_amount(line, "price") or "0"),
            }
            for line in order.get("line_items") or []
        ]
        shipping = shop_amount(order, "total_shipping_price")
        if shipping is None:
            shipping = sum(
                (
                    _decimal(shop_amount(line, "price"))
                    for line in order.get("shipping_lines") or []
                ),
                Decimal("0"),
            )
        figures = {
            "total": str(shop_amount(order, "total_price") or "0"),
            "subtotal": shop_amount(order, "subtotal_price"),
            "tax": shop_amount(order, "total_tax"),
            "shipping": str(shipping),
            "discounts": shop_amount(order, "total_discounts"),
            "refunded": refunded_amount(order, currency),
            "presentment": presentment(order, currency),
        }
    except (TypeError, ValueError, AttributeError):
        raise MalformedWebhook("the order's amounts or line_items are not valid") from None
    return NormalizedEvent(
        ORDER_UPSERT,
        {
            "external_id": str(order["id"]),
            "number": order.get("name"),
            "status": order_status(order),
            "test": order.get("test") is True,
            "currency": currency,
            **figures,
            "order_date": order.get("created_at"),
            "updated_at": order.get("updated_at"),
            "fulfilled_at": fulfilled_at(order),
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


def deleted_order_event(body: Any) -> NormalizedEvent:
    """``orders/delete`` carries only the order's id: the order is marked deleted."""
    if not isinstance(body, Mapping) or body.get("id") is None:
        raise MalformedWebhook("the deleted order has no id")
    return NormalizedEvent(ORDER_UPSERT, {"external_id": str(body["id"]), "deleted": True})


def errors_message(errors: Any) -> str | None:
    """One line from Shopify's ``errors`` value; anything outside its documented shape is
    dropped rather than quoted."""
    if isinstance(errors, list):
        return provider_message("; ".join(e for e in errors if isinstance(e, str)))
    if isinstance(errors, Mapping):
        fields = ((field, errors_message(value)) for field, value in errors.items())
        return provider_message("; ".join(f"{field}: {text}" for field, text in fields if text))
    return provider_message(errors)


def next_page(response: httpx.Response, shop_origin: tuple[str, str, int | None]) -> str | None:
    """The ``rel="next"`` URL of the Link header (it carries page_info and limit only). A link
    off the shop's origin stops the sync: following it would send the token there."""
    from core import outbound

    for part in response.headers.get_list("Link"):
        match = NEXT_LINK.search(part)
        if match:
            link = str(response.url.join(match.group(1)))
            if outbound.origin(link) != shop_origin:
                raise ProviderError(
                    "Shopify's next-page link points away from the shop; the sync stopped "
                    "without following it",
                    code="FOREIGN_PAGE_LINK",
                )
            return link
    return None


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
            domain = re.sub(r"^https?://", "", value, flags=re.IGNORECASE).rstrip("/").lower()
            if not SHOP_DOMAIN.fullmatch(domain):
                raise ValueError(
                    "Give the shop's myshopify.com domain, e.g. yourstore.myshopify.com "
                    "(letters, digits and hyphens; no address, port or path)."
                )
            return domain
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
        if topic == "orders/delete":
            return Delivery(delivery_id, topic, [deleted_order_event(load_json(raw_body))])
        return Delivery(delivery_id, topic, [order_event(load_json(raw_body))])

    # Admin API ----------------------------------------------------------------------------
    def api_url(self, resource: str) -> str:
        """An Admin API URL. The stored shop domain is checked again: a configuration saved
        before the check existed must not steer the token elsewhere."""
        try:
            shop = self.clean_field("shop_url", self.config["shop_url"])
        except ValueError as error:
            raise ProviderError(str(error), code="INVALID_SHOP") from None
        base = self.settings.get("NEBULO_SHOPIFY_BASE_URL").format(shop=shop)
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
        """Admin API errors: ``{"errors": "..." | ["..."] | {"field": "..." | ["..."]}}``."""
        error = super().error_from_response(response)
        try:
            body = response.json()
        except ValueError:
            return error
        message = errors_message(body.get("errors")) if isinstance(body, dict) else None
        if message:
            error.message = message
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
        from core import outbound

        shop_origin = outbound.origin(url)
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
            url, params = next_page(response, shop_origin), None

    def health(self) -> dict[str, Any]:
        try:
            shop = self._get(self.api_url("shop.json")).json().get("shop", {})
        except ProviderError as error:
            return {"ok": False, "detail": str(error)}
        return {"ok": True, "detail": f"connected to {shop.get('name') or self.config['shop_url']}"}
