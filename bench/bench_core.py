"""Core request throughput: an authenticated (JWT), tenant-scoped (``project_context``),
rate-limited JSON GET (``GET /api/v1/projects/<id>``) against a bare Flask JSON route.

Both apps are served the same way in the same run — a gunicorn subprocess, one gthread worker
with four threads — and driven by the same bounded client: four threads on 127.0.0.1, each an
httpx client with keep-alive, a fixed number of requests. Each app is measured twice,
interleaved, and its best round counts, which evens out noise from other work on the machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from flask import Flask, jsonify

from bench import Figure

REQUESTS_PER_ROUND = 2000
CLIENT_THREADS = 4
ROUNDS = 2
TARGET_RATIO = 0.5
START_TIMEOUT_SECONDS = 30
ROOT = Path(__file__).resolve().parent.parent


def bare_app() -> Flask:
    """The baseline: Flask alone answering a JSON object of the same shape."""
    app = Flask("bare")

    @app.get("/items/<uuid:item_id>")
    def item(item_id: uuid.UUID):
        return jsonify(id=str(item_id), name="Store", description="", timezone="UTC", settings={})

    return app


def _environment(directory: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEBULO_")}
    env.pop("REDIS_URL", None)
    env.update(
        DATABASE_URL=f"sqlite:///{directory}/bench.db",
        NEBULO_ENV="production",
        NEBULO_SECRET_KEY="bench-secret-key-that-is-long-enough-0123456789",
        # High enough never to answer 429 here; the limit is still counted on every request.
        NEBULO_RATE_LIMIT_DEFAULT="10000000/minute",
        NEBULO_ARGON2_TIME_COST="1",
        NEBULO_ARGON2_MEMORY_KIB="1024",
        NEBULO_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _serve(target: str, env: dict[str, str], ready_path: str) -> Iterator[str]:
    """Run ``target`` under gunicorn and yield its base URL once it answers."""
    port = _free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1",
        "--threads", str(CLIENT_THREADS), "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning", target,
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"{target} exited with {server.returncode} while starting")
            try:
                if httpx.get(base + ready_path, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target} did not start within {START_TIMEOUT_SECONDS}s")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


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
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"GET {url} failed: {failures[0]}")
    return per_thread * CLIENT_THREADS / elapsed


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="nebulo-bench-") as directory:
        env = _environment(directory)
        headers, project_id = _prepare_project(env)
        with (
            _serve("bench.bench_core:bare_app()", env, f"/items/{project_id}") as bare,
            _serve("wsgi:app", env, "/healthz") as nebulo,
        ):
            bare_url = f"{bare}/items/{project_id}"
            nebulo_url = f"{nebulo}/api/v1/projects/{project_id}"
            probe = httpx.get(nebulo_url, headers=headers)
            if probe.status_code != 200 or "X-RateLimit-Remaining" not in probe.headers:
                raise RuntimeError(f"the measured route is not as expected: {probe.status_code}")
            for url, auth in ((bare_url, {}), (nebulo_url, headers)):
                _requests_per_second(url, auth, REQUESTS_PER_ROUND // 10)  # warm up
            bare_rps = nebulo_rps = 0.0
            for _ in range(ROUNDS):
                bare_rps = max(bare_rps, _requests_per_second(bare_url, {}, REQUESTS_PER_ROUND))
                nebulo_rps = max(
                    nebulo_rps, _requests_per_second(nebulo_url, headers, REQUESTS_PER_ROUND)
                )
    ratio = nebulo_rps / bare_rps
    met = ratio >= TARGET_RATIO
    return [
        Figure(
            "authenticated tenant-scoped rate-limited GET",
            nebulo_rps,
            unit="req/s",
            target=f">= {TARGET_RATIO}x bare",
            met=met,
            baseline=bare_rps,
            baseline_label="bare Flask route",
        ),
        Figure(
            "  same, as a fraction of the bare route",
            ratio,
            unit="x",
            target=f">= {TARGET_RATIO}",
            met=met,
            baseline=1.0,
            baseline_label="bare Flask route",
        ),
    ]
