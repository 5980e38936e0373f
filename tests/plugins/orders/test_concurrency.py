"""Concurrent creates: stock never goes negative, one order per idempotency key, unique numbers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.plugins.orders.conftest import UNLIMITED_CREATES

THREADS = 8


def _post_concurrently(app, url: str, bodies: list[dict], headers: list[dict]) -> list:
    def post(args):
        body, header = args
        return app.test_client().post(url, json=body, headers=header)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(post, zip(bodies, headers, strict=True)))


def test_concurrent_orders_never_oversell(store, make_app):
    app = make_app(**UNLIMITED_CREATES)
    product = store.product("Last Units", stock=5)
    bodies = [{"items": [{"product_id": product["id"], "quantity": 1}]} for _ in range(16)]
    responses = _post_concurrently(app, store.orders, bodies, [store.owner] * 16)
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 5 + [409] * 11, [r.get_json() for r in responses]
    assert all("Last Units" in r.get_json()["detail"] for r in responses if r.status_code == 409)
    assert store.stock(product["id"]) == 0
    numbers = sorted(r.get_json()["number"] for r in responses if r.status_code == 201)
    assert numbers == [1, 2, 3, 4, 5]


def test_concurrent_retries_with_one_idempotency_key_make_one_order(store, make_app):
    app = make_app(**UNLIMITED_CREATES)
    product = store.product(stock=100)
    body = {"items": [{"product_id": product["id"], "quantity": 2}]}
    headers = {**store.owner, "Idempotency-Key": "checkout-42"}
    responses = _post_concurrently(app, store.orders, [body] * THREADS, [headers] * THREADS)
    assert {r.status_code for r in responses} == {201}, [r.get_json() for r in responses]
    assert len({r.get_json()["id"] for r in responses}) == 1
    assert store.stock(product["id"]) == 98
    assert len(store.client.get(store.orders, headers=store.owner).get_json()) == 1
