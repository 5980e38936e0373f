"""Throughput under concurrency: the orders list against ``GET /api/v1/auth/me``.

gunicorn (2 gthread workers, as on the 2-core machine) serves Nebulo on PostgreSQL and Redis,
each in a schema / key namespace of its own, dropped afterwards, with rate limits off. The
project holds 10,000 orders of three items each. A bounded closed loop — 20 client threads on
127.0.0.1, each an httpx keep-alive client, for a fixed number of seconds — drives the orders
list (default page of 50, newest first) and then ``/auth/me``, the cheapest authenticated
route, in the same run; three interleaved rounds each, and each figure is the median of its
rounds. Target: the list keeps at least half of ``/auth/me``'s throughput.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from dataclasses import dataclass

import httpx
import redis
import sqlalchemy as sa

from bench import Figure, Target, run_threads
from bench.serving import environment, gunicorn

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
ORDERS = 10_000
ITEMS_PER_ORDER = 3
CLIENTS = 20
WORKERS = 2
THREADS_PER_WORKER = 10
SECONDS_PER_ROUND = 5.0
WARM_UP_SECONDS = 2.0
ROUNDS = 3
TARGET_RATIO = 0.5
CREDENTIALS = {"email": "bench@example.com", "password": "correct horse battery"}

FILL_ORDERS = """
INSERT INTO orders (id, project_id, number, provider, status, customer_name, customer_email,
                    currency, total, refunded, is_test, order_date, created_at, updated_at)
SELECT gen_random_uuid(), :pid, n, 'pos',
       (ARRAY['pending', 'paid', 'fulfilled', 'fulfilled', 'cancelled'])[1 + n % 5],
       'Customer ' || (n % 500), 'customer' || (n % 500) || '@example.com', 'USD', 0, 0, false,
       now() - n * interval '37 minutes', now(), now()
FROM generate_series(1, :orders) AS n"""
FILL_ITEMS = """
INSERT INTO order_items (id, project_id, order_id, position, name, sku, quantity, unit_price,
                         line_total, stock_taken, created_at)
SELECT gen_random_uuid(), o.project_id, o.id, k, 'Product ' || ((o.number + k) % 80),
       'SKU-' || ((o.number + k) % 80), 1 + (o.number + k) % 3,
       1 + ((o.number * 7919 + k) % 5000) / 100.0,
       (1 + (o.number + k) % 3) * (1 + ((o.number * 7919 + k) % 5000) / 100.0), true,
       o.created_at
FROM orders o CROSS JOIN generate_series(0, :last_position) AS k
WHERE o.project_id = :pid"""
FILL_TOTALS = """
UPDATE orders SET total = items.total
FROM (SELECT order_id, sum(line_total) AS total FROM order_items GROUP BY order_id) AS items
WHERE orders.id = items.order_id AND orders.project_id = :pid"""


@dataclass(frozen=True)
class Load:
    """What one closed-loop round measured."""

    requests_per_second: float
    p99_ms: float


def _environment(database_url: str, namespace: str) -> dict[str, str]:
    return environment(
        database_url,
        REDIS_URL=REDIS_URL,
        NEBULO_REDIS_NAMESPACE=namespace,
        NEBULO_ENV="production",
        NEBULO_RATE_LIMITS_ENABLED="0",
    )


def _prepare_store(env: dict[str, str]) -> tuple[dict[str, str], str]:
    """Migrate, register the owner, create a project filled with orders; auth headers and id."""
    from core import migrate
    from core.app import create_app
    from core.config import load_settings

    app = create_app(load_settings(env))
    migrate.upgrade(app)
    client = app.test_client()
    assert client.post("/api/v1/auth/register", json=CREDENTIALS).status_code == 201
    token = client.post("/api/v1/auth/login", json=CREDENTIALS).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    project = client.post("/api/v1/projects", json={"name": "Bench store"}, headers=headers)
    assert project.status_code == 201, project.get_json()
    project_id = project.get_json()["id"]
    engine = app.extensions["nebulo"].db.engine
    with engine.begin() as connection:
        parameters = {"pid": project_id, "orders": ORDERS, "last_position": ITEMS_PER_ORDER - 1}
        for statement in (FILL_ORDERS, FILL_ITEMS, FILL_TOTALS):
            connection.execute(sa.text(statement), parameters)
        connection.execute(
            sa.text("UPDATE order_counters SET last_number = :orders WHERE project_id = :pid"),
            parameters,
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    app.extensions["nebulo"].db.dispose()
    return headers, project_id


def _drive(url: str, headers: dict[str, str], seconds: float) -> tuple[list[float], float]:
    """CLIENTS threads each send the next GET as soon as the last one is answered, until
    ``seconds`` have passed; every answer must be a 200. The latencies and the elapsed time."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    failures: list[str] = []
    deadline = time.perf_counter() + seconds

    def drive(timings: list[float]) -> None:
        with httpx.Client(headers=headers, timeout=30) as client:
            while not failures and (sent := time.perf_counter()) < deadline:
                response = client.get(url)
                timings.append(time.perf_counter() - sent)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=drive, args=(timings,)) for timings in latencies]
    elapsed = run_threads(threads)
    if failures:
        raise RuntimeError(f"GET {url} failed: {failures[0]}")
    return [latency for timings in latencies for latency in timings], elapsed


def _closed_loop(url: str, headers: dict[str, str], seconds: float) -> Load:
    latencies, elapsed = _drive(url, headers, seconds)
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    return Load(len(latencies) / elapsed, p99)


def _measure(urls: dict[str, str], headers: dict[str, str]) -> dict[str, Load]:
    """Per URL, the median throughput and p99 of ROUNDS interleaved rounds, after a warm-up."""
    for url in urls.values():
        _drive(url, headers, WARM_UP_SECONDS)
    rounds: dict[str, list[Load]] = {name: [] for name in urls}
    for _ in range(ROUNDS):
        for name, url in urls.items():
            rounds[name].append(_closed_loop(url, headers, SECONDS_PER_ROUND))
    return {
        name: Load(
            statistics.median(load.requests_per_second for load in loads),
            statistics.median(load.p99_ms for load in loads),
        )
        for name, loads in rounds.items()
    }


def _run_against(database_url: str, namespace: str) -> dict[str, Load]:
    env = _environment(database_url, namespace)
    headers, project_id = _prepare_store(env)
    with gunicorn("wsgi:app", env, "/healthz", WORKERS, THREADS_PER_WORKER) as base:
        urls = {"list": f"{base}/api/v1/orders/{project_id}", "me": f"{base}/api/v1/auth/me"}
        page = httpx.get(urls["list"], headers=headers)
        if page.status_code != 200 or len(page.json()) != 50 or len(page.json()[0]["items"]) != 3:
            raise RuntimeError(f"the orders list is not as expected: {page.status_code}")
        return _measure(urls, headers)


def run() -> list[Figure]:
    token = uuid.uuid4().hex[:10]
    schema, namespace = f"bench_concurrency_{token}", f"bench-concurrency-{token}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        loads = _run_against(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", namespace)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        keys = redis.Redis.from_url(REDIS_URL)
        for key in keys.scan_iter(f"{namespace}*"):
            keys.delete(key)
    listing, me = loads["list"], loads["me"]
    setting = f"{CLIENTS} clients, {WORKERS} workers, {ORDERS:,} orders"
    return [
        Figure(
            f"orders list, page of 50 ({setting})",
            listing.requests_per_second,
            "req/s",
            me.requests_per_second,
            "GET /auth/me",
            ROUNDS,
            Target(">=", TARGET_RATIO, on="ratio"),
        ),
        Figure(
            "  orders list p99 latency", listing.p99_ms, "ms", me.p99_ms, "GET /auth/me", ROUNDS
        ),
    ]
