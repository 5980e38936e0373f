"""Core request throughput: an authenticated (JWT), tenant-scoped (``project_context``),
rate-limited JSON GET (``GET /api/v1/projects/<id>``) against a bare Flask JSON route.

Both apps are served the same way in the same run — a gunicorn subprocess, one gthread worker
with four threads — and driven by the same bounded client: four threads on 127.0.0.1, each an
httpx client with keep-alive, a fixed number of requests. The two are measured in ROUNDS
interleaved rounds and each figure is the median of its rounds, which evens out noise from
other work on the machine.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import uuid

import httpx
from flask import Flask, jsonify

from bench import Figure, Target, run_threads
from bench.serving import environment, gunicorn

REQUESTS_PER_ROUND = int(os.environ.get("BENCH_CORE_REQUESTS", "2000"))
CLIENT_THREADS = 4
ROUNDS = 3
TARGET_RATIO = 0.5


def bare_app() -> Flask:
    """The baseline: Flask alone answering a JSON object of the same shape."""
    app = Flask("bare")

    @app.get("/items/<uuid:item_id>")
    def item(item_id: uuid.UUID):
        return jsonify(id=str(item_id), name="Store", description="", timezone="UTC", settings={})

    return app


def _prepare_project(env: dict[str, str]) -> tuple[dict[str, str], str]:
    """Migrate a fresh database, register a user, create a project; return auth headers and id."""
    from core import migrate
    from core.app import create_app
    from core.config import load_settings

    app = create_app(load_settings(env))
    migrate.upgrade(app)
    client = app.test_client()
    credentials = {"email": "bench@example.com", "password": "correct horse battery"}
    assert client.post("/api/v1/auth/register", json=credentials).status_code == 201
    token = client.post("/api/v1/auth/login", json=credentials).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    project = client.post("/api/v1/projects", json={"name": "Bench store"}, headers=headers)
    assert project.status_code == 201, project.get_json()
    app.extensions["nebulo"].db.dispose()
    return headers, project.get_json()["id"]


def _requests_per_second(url: str, headers: dict[str, str], count: int) -> float:
    """``count`` GETs of ``url`` from CLIENT_THREADS keep-alive clients; every one must be 200."""
    failures: list[str] = []
    per_thread = count // CLIENT_THREADS

    def drive() -> None:
        with httpx.Client(headers=headers, timeout=30) as client:
            for _ in range(per_thread):
                response = client.get(url)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    return

    threads = [threading.Thread(target=drive) for _ in range(CLIENT_THREADS)]
    elapsed = run_threads(threads)
    if failures:
        raise RuntimeError(f"GET {url} failed: {failures[0]}")
    return per_thread * CLIENT_THREADS / elapsed


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="nebulo-bench-") as directory:
        env = environment(
            f"sqlite:///{directory}/bench.db",
            NEBULO_ENV="production",
            # High enough never to answer 429 here; the limit is still counted on every request.
            NEBULO_RATE_LIMIT_DEFAULT="10000000/minute",
        )
        headers, project_id = _prepare_project(env)
        with (
            gunicorn("bench.bench_core:bare_app()", env, f"/items/{project_id}") as bare,
            gunicorn("wsgi:app", env, "/healthz") as nebulo,
        ):
            bare_url = f"{bare}/items/{project_id}"
            nebulo_url = f"{nebulo}/api/v1/projects/{project_id}"
            probe = httpx.get(nebulo_url, headers=headers)
            if probe.status_code != 200 or "X-RateLimit-Remaining" not in probe.headers:
                raise RuntimeError(f"the measured route is not as expected: {probe.status_code}")
            for url, auth in ((bare_url, {}), (nebulo_url, headers)):
                _requests_per_second(url, auth, REQUESTS_PER_ROUND // 10)  # warm up
            bare_rounds, nebulo_rounds = [], []
            for _ in range(ROUNDS):
                bare_rounds.append(_requests_per_second(bare_url, {}, REQUESTS_PER_ROUND))
                nebulo_rounds.append(_requests_per_second(nebulo_url, headers, REQUESTS_PER_ROUND))
    return [
        Figure(
            "authenticated tenant-scoped rate-limited GET",
            statistics.median(nebulo_rounds),
            "req/s",
            statistics.median(bare_rounds),
            "bare Flask route",
            ROUNDS,
            Target(">=", TARGET_RATIO, on="ratio"),
        ),
    ]
