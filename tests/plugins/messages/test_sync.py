def start_sync(shop, integration, status=202):
    response = shop.client.post(
        f"/api/v1/integrations/{shop.pid}/{integration['id']}/sync", headers=shop.owner
    )
    assert response.status_code == status, response.get_json()
    return response.get_json()


def shopify_orders(shop):
    return shop.get(f"orders/{shop.pid}", provider="shopify", days=3650, page_size=100)


def test_sync_pages_through_the_admin_api_and_reruns_without_duplicates(shop, fakes):
    for number in range(1, 6):
        fakes["shopify"].add_order(number, f"2025-01-0{number}T00:00:00Z")
    integration = shop.connect("shopify")
    queued = start_sync(shop, integration)
    assert (
        queued["status"] == "queued"
        and queued["message"] == "Sync task queued for shopify integration"
    )
    shop.settle()
    job = shop.get(f"jobs/{queued['job_id']}")
    assert job["status"] == "finished" and job["progress"] == 100
    assert job["result"]["created"] == 5
    assert sorted(o["external_id"] for o in shopify_orders(shop)) == ["1", "2", "3", "4", "5"]
    synced = shop.get(f"integrations/{shop.pid}/{integration['id']}")
    assert synced["last_sync"] and synced["status"] == "connected"

    fakes["shopify"].orders[0]["cancelled_at"] = "2030-01-01T00:00:00Z"
    fakes["shopify"].orders[0]["updated_at"] = "2030-01-01T00:00:00Z"
    fakes["shopify"].add_order(6, "2030-01-01T00:00:00Z")
    fakes["shopify"].requests.clear()
    again = start_sync(shop, integration)
    shop.settle()
    assert shop.get(f"jobs/{again['job_id']}")["result"] == {
        "created": 1,
        "updated": 1,
        "since": synced["last_sync"].replace("Z", "+00:00"),
    }
    first_listing = next(r for r in fakes["shopify"].requests if r.path.endswith("/orders.json"))
    assert "updated_at_min" in first_listing.query
    orders = {o["external_id"]: o for o in shopify_orders(shop)}
    assert len(orders) == 6 and orders["1"]["status"] == "cancelled"
    customers = shop.get(f"customers/{shop.pid}", page_size=100)
    assert len(customers) == 6


def test_sync_honours_429_retry_after(shop, fakes):
    fakes["shopify"].add_order(1, "2025-01-01T00:00:00Z")
    fakes["shopify"].script(
        429, {"errors": "Exceeded 2 calls per second for api client."}, {"Retry-After": "0.5"}
    )
    integration = shop.connect("shopify")
    queued = start_sync(shop, integration)
    shop.settle()
    assert shop.get(f"jobs/{queued['job_id']}")["status"] == "finished"
    assert len(shopify_orders(shop)) == 1
    assert [r.path.rsplit("/", 1)[-1] for r in fakes["shopify"].requests][:2] == [
        "count.json",
        "count.json",
    ]


def test_sync_with_a_rejected_token_marks_the_integration_in_error(shop, fakes):
    integration = shop.connect("shopify", {**shop_config(), "access_token": "revoked"})
    queued = start_sync(shop, integration)
    shop.settle(timeout=120)
    job = shop.get(f"jobs/{queued['job_id']}")
    assert job["status"] == "failed" and "Invalid API key" in job["error"]
    listed = shop.get(f"integrations/{shop.pid}/{integration['id']}")
    assert listed["status"] == "error" and "Invalid API key" in listed["last_error"]
    assert listed["last_sync"] is None


def test_sync_needs_an_admin_and_an_existing_integration(shop):
    from tests.conftest import ApiClient

    integration = shop.connect("shopify")
    stranger = ApiClient(shop.client).user_headers()
    url = f"/api/v1/integrations/{shop.pid}/{integration['id']}/sync"
    assert shop.client.post(url, headers=stranger).status_code == 404
    url = f"/api/v1/integrations/{shop.pid}/00000000-0000-0000-0000-000000000000/sync"
    assert shop.client.post(url, headers=shop.owner).status_code == 404


def shop_config():
    from tests.plugins.messages.conftest import SHOPIFY_CONFIG

    return dict(SHOPIFY_CONFIG)
