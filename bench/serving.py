"""What the HTTP benchmarks share: a production-like environment, gunicorn, a free port."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 20


def environment(database_url: str, **settings: str) -> dict[str, str]:
    """This process's environment without its NEBULO_* settings nor REDIS_URL, plus the ones a
    started app needs (production requires an encryption key) and ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEBULO_")}
    env.pop("REDIS_URL", None)
    env.update(
        DATABASE_URL=database_url,
        NEBULO_SECRET_KEY="bench-secret-key-that-is-long-enough-0123456789",
        NEBULO_ENCRYPTION_KEY=base64.urlsafe_b64encode(
            b"bench-encryption-key-of-32-bytes"
        ).decode(),
        NEBULO_ARGON2_TIME_COST="1",
        NEBULO_ARGON2_MEMORY_KIB="1024",
        NEBULO_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.update(settings)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    target: str, env: dict[str, str], ready_path: str, workers: int = 1, threads: int = 4
) -> Iterator[str]:
    """Serve ``target`` with gthread workers, as the README deploys Nebulo; yield the base URL
    once ``ready_path`` answers 200."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--worker-class", "gthread",
        "--workers", str(workers), "--threads", str(threads),
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning", target,
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
            server.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
