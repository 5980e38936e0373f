"""Connectors call only the provider: no internal address, no foreign page link, no redirect,
and no foreign server's words in a stored error (issue #11, server-side request forgery)."""

from __future__ import annotations

import pytest

from connectors.base import ProviderError
from connectors.shopify.connector import ShopifyConnector
from connectors.telegram.connector import TelegramConnector
from connectors.whatsapp.connector import WhatsAppConnector
from core.app import create_app
from core.errors import Invalid
from core.jobs import wait_for_jobs
from tests.conftest import ApiClient
from tests.connectors.conftest import connector_settings
from tests.connectors.fakes import Bystander, FakeShopify, NotHttp

TOKEN = "shpat_test_token"
CONFIG = {
    "shop_url": "yourstore.myshopify.com",
    "api_secret": "shpss_secret",
    "access_token": TOKEN,
}
REFUSED_SHOP_DOMAINS = [
    "127.0.0.1:6379",
    "169.254.169.254",
    "evil.com",
    "x.myshopify.com:6379",
    "x.myshopify.com/path",
    "user@x.myshopify.com",
    "x.myshopify.com.evil.com",
    "localhost",
    "x_y.myshopify.com",
    "[::1]",
]


def shopify(
    base_url: str, *, allow_private_urls: bool = True, shop_url: str | None = None, **settings
) -> ShopifyConnector:
    config = {**CONFIG, "shop_url": shop_url or CONFIG["shop_url"]}
    return ShopifyConnector(
        config,
        connector_settings(
            NEBULO_SHOPIFY_BASE_URL=base_url, allow_private_urls=allow_private_urls, **settings
        ),
    )


def link_to(url: str) -> dict[str, str]:
    return {
        "Link": f'<{url}/admin/api/{FakeShopify.API_VERSION}/orders.json?page_info=x>; rel="next"'
    }


def run_sync(connector: ShopifyConnector) -> list:
    return [event for page in connector.sync(None, lambda *_: None) for event in page]


@pytest.fixture
def bystander():
    with Bystander() as server:
        yield server


# --- the shop's domain ------------------------------------------------------------------------


@pytest.mark.parametrize("shop_url", REFUSED_SHOP_DOMAINS)
def test_a_shop_url_must_be_a_myshopify_domain(shop_url):
    with pytest.raises(Invalid) as raised:
        ShopifyConnector.validate_config({"shop_url": shop_url, "api_secret": "s"})
    assert "myshopify.com" in raised.value.errors["config.shop_url"][0]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("yourstore.myshopify.com", "yourstore.myshopify.com"),
        ("https://YourStore.myshopify.com/", "yourstore.myshopify.com"),
        ("my-store-2.myshopify.com", "my-store-2.myshopify.com"),
    ],
)
def test_a_shop_domain_is_accepted_and_normalized(given, kept):
    cleaned = ShopifyConnector.validate_config({"shop_url": given, "api_secret": "s"})
    assert cleaned["shop_url"] == kept


def test_a_stored_shop_domain_saved_before_the_check_is_not_called(bystander):
    """The shop goes into the operator's base URL; a bad one never reaches the network."""
    connector = shopify("http://{shop}", shop_url=f"127.0.0.1:{bystander.server.server_port}")
    with pytest.raises(ProviderError) as raised:
        run_sync(connector)
    assert raised.value.code == "INVALID_SHOP" and not raised.value.retryable
    assert bystander.requests == []


# --- where the token may go -------------------------------------------------------------------


def test_a_next_page_link_to_another_port_is_not_followed(fake_shopify, bystander):
    fake_shopify.add_order(1, "2025-01-01T00:00:00Z")
    fake_shopify.script(200, {"count": 2})
    fake_shopify.script(200, {"orders": [fake_shopify.orders[0]]}, link_to(bystander.url))
    connector = shopify(fake_shopify.url)
    pages = connector.sync(None, lambda *_: None)
    assert [event.data["external_id"] for event in next(pages)] == ["1"]
    with pytest.raises(ProviderError) as raised:
        next(pages)
    assert raised.value.code == "FOREIGN_PAGE_LINK" and not raised.value.retryable
    assert bystander.requests == []


def test_a_next_page_link_with_another_scheme_is_not_followed(fake_shopify):
    fake_shopify.script(200, {"count": 1})
    https_twin = fake_shopify.url.replace("http://", "https://")
    fake_shopify.script(200, {"orders": []}, link_to(https_twin))
    with pytest.raises(ProviderError, match="points away from the shop"):
        run_sync(shopify(fake_shopify.url))
    assert len(fake_shopify.requests) == 2


def test_a_next_page_link_on_the_shops_origin_is_followed(fake_shopify):
    for number in (1, 2, 3):
        fake_shopify.add_order(number, f"2025-01-0{number}T00:00:00Z")
    connector = shopify(fake_shopify.url, NEBULO_SHOPIFY_PAGE_SIZE=2)
    assert [e.data["external_id"] for e in run_sync(connector)] == ["1", "2", "3"]
    assert len([r for r in fake_shopify.requests if "page_info" in r.query]) == 1


def test_a_redirect_is_not_followed(fake_shopify, bystander):
    fake_shopify.script(302, {}, {"Location": f"{bystander.url}/steal"})
    with pytest.raises(ProviderError) as raised:
        run_sync(shopify(fake_shopify.url))
    assert raised.value.code == "REDIRECT" and not raised.value.retryable
    assert bystander.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_addresses_are_refused_when_not_allowed(fake_shopify, host):
    base_url = f"http://{host}:{fake_shopify.server.server_port}"
    with pytest.raises(ProviderError) as raised:
        run_sync(shopify(base_url, allow_private_urls=False))
    assert raised.value.code == "REFUSED_DESTINATION" and not raised.value.retryable
    assert "127.0.0.1" in str(raised.value) and "not a public" in str(raised.value)
    assert fake_shopify.requests == []


# --- what an error may say --------------------------------------------------------------------


def test_an_error_body_outside_the_documented_shape_is_not_quoted(fake_shopify):
    fake_shopify.script(500, f"<html>{Bystander.SECRET}</html>")
    with pytest.raises(ProviderError) as raised:
        run_sync(shopify(fake_shopify.url))
    assert str(raised.value) == "500 shopify answered HTTP 500 Internal Server Error"


def test_shopify_errors_are_read_from_their_documented_shape(fake_shopify):
    fake_shopify.script(400, {"errors": {"page_info": ["is invalid", 7], "limit": "too big"}})
    with pytest.raises(ProviderError) as raised:
        run_sync(shopify(fake_shopify.url))
    assert raised.value.message == "page_info: is invalid; limit: too big"


def test_a_server_that_does_not_speak_http_is_not_quoted():
    with NotHttp() as redis_like, pytest.raises(ProviderError) as raised:
        run_sync(shopify(redis_like.url))
    assert redis_like.connections == 1
    assert "internal-secret" not in str(raised.value)
    assert raised.value.message == "shopify dropped the call: the answer was not valid HTTP"


def test_whatsapp_keeps_only_the_documented_error_fields(fake_whatsapp):
    fake_whatsapp.script(
        400, {"error": {"message": {"html": "<b>x</b>"}, "type": "<b>", "code": 100}}
    )
    connector = WhatsAppConnector(
        {"phone_number_id": fake_whatsapp.phone_number_id, "access_token": "EAAG-test"},
        connector_settings(NEBULO_WHATSAPP_BASE_URL=fake_whatsapp.url),
    )
    with pytest.raises(ProviderError) as raised:
        connector.send_message({"phone": "+15550001111"}, "hi")
    assert raised.value.message == "whatsapp answered HTTP 400 Bad Request"
    assert raised.value.code == "GraphError#100"


def test_telegram_keeps_only_the_documented_error_fields(fake_telegram):
    fake_telegram.script(
        429, {"ok": False, "error_code": "x", "description": ["no"], "parameters": [1]}
    )
    connector = TelegramConnector(
        {"bot_token": fake_telegram.bot_token, "secret_token": "s"},
        connector_settings(NEBULO_TELEGRAM_BASE_URL=fake_telegram.url),
    )
    with pytest.raises(ProviderError) as raised:
        connector.send_message({"chat_id": 5}, "hi")
    assert raised.value.message == "telegram answered HTTP 429 Too Many Requests"
    assert raised.value.code == "telegram#429" and raised.value.retryable


# --- through the API: connect, sync, read last_error ------------------------------------------


@pytest.fixture(scope="module")
def shop_fakes():
    with FakeShopify() as shop, Bystander() as internal:
        yield shop, internal


@pytest.fixture
def shop_app(stack, app, shop_fakes):
    """Shares the database of ``app``; the Shopify base URL points at the fake shop."""
    fake_shop, internal = shop_fakes
    fake_shop.requests.clear()
    fake_shop.orders.clear()
    internal.requests.clear()
    other = create_app(stack.settings(plugin={"NEBULO_SHOPIFY_BASE_URL": fake_shop.url}))
    yield other
    other.extensions["nebulo"].jobs.stop()
    other.extensions["nebulo"].db.dispose()


def connect(client, owner, project, config, status=201) -> dict:
    response = client.post(
        f"/api/v1/integrations/{project['id']}/connect",
        json={"provider": "shopify", "config": config},
        headers=owner,
    )
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("shop_url", REFUSED_SHOP_DOMAINS[:5])
def test_connecting_a_shop_outside_myshopify_is_a_422(shop_app, shop_url):
    client = shop_app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    body = connect(client, owner, api.project(owner), {**CONFIG, "shop_url": shop_url}, 422)
    assert body["code"] == "VALIDATION_ERROR"
    assert "myshopify.com" in body["errors"]["config.shop_url"][0]


def test_a_sync_led_to_an_internal_address_stores_no_token_and_no_body(shop_app, shop_fakes):
    fake_shop, internal = shop_fakes
    fake_shop.add_order(1, "2025-01-01T00:00:00Z")
    fake_shop.script(200, {"count": 2})
    fake_shop.script(200, {"orders": [fake_shop.orders[0]]}, link_to(internal.url))
    client = shop_app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    project = api.project(owner)
    integration = connect(client, owner, project, CONFIG)
    url = f"/api/v1/integrations/{project['id']}/{integration['id']}"
    assert client.post(f"{url}/sync", headers=owner).status_code == 202
    wait_for_jobs(shop_app, 60)
    assert internal.requests == []
    listed = client.get(url, headers=owner).get_json()
    assert listed["status"] == "error" and listed["last_sync"] is None
    assert "points away from the shop" in listed["last_error"]
    assert Bystander.SECRET not in listed["last_error"] and TOKEN not in listed["last_error"]
