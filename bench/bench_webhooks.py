"""Ingestion of signed Shopify order webhooks through the HTTP API, embedded defaults.

Nebulo runs with the embedded defaults of ``make run`` (SQLite, no Redis: the jobs run in the
web server's child process; memory rate-limit counters) under gunicorn (one gthread worker,
four threads). Four keep-alive clients post distinct ``orders/create`` deliveries, each signed
with the integration's secret, plus replays of some of them. The figure is accepted
deliveries per second with signatures checked; the baseline is the same run with signature
checking off (NEBULO_WEBHOOK_VERIFY_SIGNATURES=0), on a second integration. Afterwards every
delivery must be stored exactly once, and the checked run's deliveries must all be processed
into orders; the rate of that processing (from the first post to the last order) is shown
too, since a sustained load above it would grow a backlog.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import tempfile
import threading
import time

import httpx
import sqlalchemy as sa

from bench import Figure, Target, run_threads
from bench.serving import environment, gunicorn

DELIVERIES = 1200
REPLAYS = 100
CLIENT_THREADS = 4
RUNS = 1  # each ingestion stores its deliveries: one run per figure and baseline
TARGET_RATIO = 0.8
"""Checking a signature is one HMAC per delivery: it may cost a fifth of the throughput, no more."""
PROCESSING_TIMEOUT_SECONDS = 45
SECRET = "shpss_bench_app_secret"


def _prepare(env: dict[str, str]) -> list[str]:
    """Migrate, create an owner and a project with two Shopify integrations; their ids."""
    from core import migrate
    from core.app import create_app
    from core.config import load_settings

    app = create_app(load_settings(env))
    migrate.upgrade(app)
    client = app.test_client()
    credentials = {"email": "bench@example.com", "password": "correct horse battery"}
    client.post("/api/v1/auth/register", json=credentials)
    token = client.post("/api/v1/auth/login", json=credentials).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    project_id = client.post(
        "/api/v1/projects", json={"name": "Bench"}, headers=headers
    ).get_json()["id"]
    config = {"api_secret": SECRET, "shop_url": "bench.myshopify.com"}
    ids = []
    for _ in range(2):
        response = client.post(
            f"/api/v1/integrations/{project_id}/connect",
            json={"provider": "shopify", "config": config},
            headers=headers,
        )
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    app.extensions["nebulo"].db.dispose()
    return ids


def _delivery(number: int, prefix: str) -> tuple[bytes, dict[str, str]]:
    order = {
        "id": number,
        "email": f"buyer{number}@example.com",
        "created_at": "2025-01-12T10:00:00Z",
        "updated_at": "2025-01-12T10:00:00Z",
        "total_price": "29.99",
        "currency": "USD",
        "financial_status": "paid",
        "customer": {"id": number, "first_name": "Buyer", "last_name": str(number)},
        "line_items": [{"title": "Bench item", "quantity": 1, "price": "29.99"}],
    }
    body = json.dumps(order).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Webhook-Id": f"{prefix}-{number}",
    }
    return body, headers


def _ingest(url: str, prefix: str, first: int) -> float:
    """Post every delivery (and the replays) from CLIENT_THREADS clients; deliveries/s.

    Orders ``first`` .. ``first + DELIVERIES - 1``: each run creates new orders and customers,
    so both runs process the same kind of work behind their ingestion.
    """
    work = [_delivery(n, prefix) for n in range(first, first + DELIVERIES)]
    work += work[:REPLAYS]
    failures: list[str] = []

    def drive(share: list[tuple[bytes, dict[str, str]]]) -> None:
        with httpx.Client(timeout=30) as client:
            for body, headers in share:
                response = client.post(url, content=body, headers=headers)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    return

    threads = [
        threading.Thread(target=drive, args=(work[i::CLIENT_THREADS],))
        for i in range(CLIENT_THREADS)
    ]
    elapsed = run_threads(threads)
    if failures:
        raise RuntimeError(f"a webhook was refused: {failures[0]}")
    return len(work) / elapsed


def _counts(engine: sa.Engine, integration_id: str) -> tuple[int, int, int]:
    """(stored rows, distinct delivery ids, processed rows) of one integration."""
    with engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT count(*), count(DISTINCT delivery_id), "
                "sum(CASE WHEN status = 'processed' THEN 1 ELSE 0 END) "
                "FROM inbound_deliveries WHERE integration_id = :id"
            ),
            {"id": integration_id.replace("-", "")},
        ).one()


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="nebulo-bench-webhooks-") as directory:
        env = environment(f"sqlite:///{directory}/bench.db")
        checked_id, unchecked_id = _prepare(env)
        engine = sa.create_engine(env["DATABASE_URL"])
        checked_env = {**env, "NEBULO_WEBHOOK_VERIFY_SIGNATURES": "1"}
        with gunicorn("wsgi:app", checked_env, "/healthz", threads=CLIENT_THREADS) as base:
            started = time.perf_counter()
            checked = _ingest(f"{base}/api/v1/webhooks/shopify/{checked_id}", "checked", 1)
            deadline = time.monotonic() + PROCESSING_TIMEOUT_SECONDS
            while _counts(engine, checked_id)[2] < DELIVERIES and time.monotonic() < deadline:
                time.sleep(0.1)
            stored, distinct, processed = _counts(engine, checked_id)
            processing_rate = processed / (time.perf_counter() - started)
        unchecked_env = {**env, "NEBULO_WEBHOOK_VERIFY_SIGNATURES": "0"}
        with gunicorn("wsgi:app", unchecked_env, "/healthz", threads=CLIENT_THREADS) as base:
            unchecked = _ingest(
                f"{base}/api/v1/webhooks/shopify/{unchecked_id}", "unchecked", DELIVERIES + 1
            )
        baseline_stored, baseline_distinct, _ = _counts(engine, unchecked_id)
        engine.dispose()
    return [
        Figure(
            "signed Shopify order webhooks accepted (HTTP, embedded)",
            checked,
            "deliv/s",
            unchecked,
            "signature checking off",
            RUNS,
            Target(">=", TARGET_RATIO, on="ratio"),
        ),
        Figure(
            f"  stored ({DELIVERIES} sent + {REPLAYS} replays)",
            stored,
            "rows",
            baseline_stored,
            "signature checking off",
            RUNS,
            Target("==", DELIVERIES),
        ),
        Figure(
            "  distinct delivery ids stored",
            distinct,
            "rows",
            baseline_distinct,
            "signature checking off",
            RUNS,
            Target("==", DELIVERIES),
        ),
        Figure(
            f"  processed into orders within {PROCESSING_TIMEOUT_SECONDS}s",
            processed,
            "rows",
            DELIVERIES,
            "deliveries sent",
            RUNS,
            Target("==", DELIVERIES),
        ),
        Figure(
            "  processed into orders, first post to last order",
            processing_rate,
            "deliv/s",
            checked,
            "accepted",
            RUNS,
        ),
    ]
