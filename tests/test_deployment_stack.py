"""README's production stack, started from its own commands (those of ``deploy/Procfile``):
``nebulo db upgrade``, gunicorn with ``deploy/gunicorn.conf.py`` and one ``nebulo worker``, on a
PostgreSQL database and a Redis namespace of their own. A smoke test then registers, logs in,
makes a project and an order whose webhook delivery the worker performs, and everything is
stopped. ``make run`` is checked to serve on ``PORT``."""

from __future__ import annotations

import base64
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import redis
import sqlalchemy as sa

from tests.conftest import POSTGRES_URL, REDIS_URL, REQUIRE_SERVICES

CHECKOUT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
START_SECONDS = 120
DELIVERY_SECONDS = 60

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def services() -> Iterator[tuple[str, str]]:
    """(DATABASE_URL, NEBULO_REDIS_NAMESPACE): a database and a namespace made for this test."""
    name = f"nebulo_stack_{uuid.uuid4().hex[:10]}"
    try:
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as error:  # noqa: BLE001
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL/Redis is not reachable: {error}")
        pytest.skip(f"PostgreSQL/Redis is not reachable: {error}")
    database_url = sa.make_url(POSTGRES_URL).set(database=name)
    yield database_url.render_as_string(hide_password=False), name
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)


class Receiver(BaseHTTPRequestHandler):
    """The store's webhook endpoint: keeps what the worker POSTs."""

    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        """Quiet: the test asserts on what arrived."""


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict]]]:
    received: list[dict] = []
    handler = type("TestReceiver", (Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def production_environment(database_url: str, namespace: str) -> dict[str, str]:
    """README's nebulo.env, for this test's database and namespace."""
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "NEBULO_ENV": "production",
        "NEBULO_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(36)).decode(),
        "NEBULO_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "NEBULO_REDIS_NAMESPACE": namespace,
        # the test's webhook receiver listens on 127.0.0.1
        "NEBULO_ALLOW_PRIVATE_URLS": "1",
    }


def start(command: list[str], environ: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=CHECKOUT,
        env=environ,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(condition, seconds: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    output = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
    pytest.fail(f"{what} within {seconds} s\n{output}")


def procfile() -> dict[str, list[str]]:
    """``deploy/Procfile``'s processes by name: README's commands as a platform starts them."""
    lines = (CHECKOUT / "deploy" / "Procfile").read_text().splitlines()
    entries = (line.split(":", 1) for line in lines if line.strip())
    return {name.strip(): shlex.split(command) for name, command in entries}


def test_the_readme_stack_serves_and_its_worker_runs_jobs(services, receiver, tmp_path):
    database_url, namespace = services
    hook_url, received = receiver
    environ = production_environment(database_url, namespace)
    processes = procfile()
    assert set(processes) == {"release", "web", "worker"}
    upgraded = subprocess.run(
        processes["release"], cwd=CHECKOUT, env=environ, capture_output=True, text=True
    )
    assert upgraded.returncode == 0, upgraded.stderr

    port = free_port()
    web_log, worker_log = tmp_path / "gunicorn.log", tmp_path / "worker.log"
    # The address on the command line, as README's command gives it (the Procfile's reads
    # PORT, on every interface), and two workers, not four, on a test machine.
    web = start(
        [*processes["web"], "--bind", f"127.0.0.1:{port}", "--workers", "2"], environ, web_log
    )
    worker = start(processes["worker"], environ, worker_log)
    logs = [web_log, worker_log]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:

            def ready() -> bool:
                assert web.poll() is None, web_log.read_text()
                try:
                    return http.get("/readyz").status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(ready, START_SECONDS, "gunicorn was not ready", logs)
            email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
            credentials = {"email": email, "password": "correct horse battery"}
            assert http.post("/api/v1/auth/register", json=credentials).status_code == 201
            login = http.post("/api/v1/auth/login", json=credentials)
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            project = http.post("/api/v1/projects", json={"name": "Store"}, headers=headers)
            assert project.status_code == 201, project.text
            project_id = project.json()["id"]
            webhook = http.post(
                f"/api/v1/projects/{project_id}/webhooks",
                json={"url": hook_url, "events": ["order.created"]},
                headers=headers,
            )
            assert webhook.status_code == 201, webhook.text
            order = http.post(
                f"/api/v1/orders/{project_id}",
                json={"items": [{"name": "Tea", "quantity": 2, "price": 10}]},
                headers=headers,
            )
            assert order.status_code == 201, order.text

            wait_for(lambda: received, DELIVERY_SECONDS, "the worker delivered nothing", logs)
            assert received[0]["event"] == "order.created"
            assert received[0]["payload"]["order_id"] == order.json()["id"]
            doctor = subprocess.run(
                ["nebulo", "doctor"], cwd=CHECKOUT, env=environ, capture_output=True, text=True
            )
            assert doctor.returncode == 0, doctor.stdout + doctor.stderr
            assert "1 worker(s) alive" in doctor.stdout
    finally:
        stop(worker)
        stop(web)
    assert web.returncode == 0, web_log.read_text()[-3000:]


def make_run_commands(port: str | None) -> list[list[str]]:
    """The commands ``make run`` runs (``make -n``), with ``PORT`` set to ``port`` or unset."""
    # not the settings of a make that runs this test (`make test`): its level makes the inner
    # make print "Entering/Leaving directory" lines among the commands
    outer = ("PORT", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    environ = {key: value for key, value in os.environ.items() if key not in outer}
    if port is not None:
        environ["PORT"] = port
    stamp = Path(sys.prefix) / ".installed"  # installed already: print only run's own commands
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", str(stamp), f"VENV={sys.prefix}", "run"],
        cwd=CHECKOUT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.split() for line in dry_run.stdout.splitlines()]


def test_make_run_serves_on_port_8000_unless_port_is_set(tmp_path):
    serve = ["nebulo", "serve", "--host", "127.0.0.1", "--port"]
    assert make_run_commands(None)[-1][1:] == [*serve[1:], "8000"]
    port = str(free_port())
    *preparation, serving = make_run_commands(port)
    assert [Path(command[0]).name for command in preparation] == ["nebulo", "nebulo"]
    assert [Path(serving[0]).name, *serving[1:]] == [*serve, port]

    # What make runs then serves on that port (the demo step is left out: it takes a minute).
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "NEBULO_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    subprocess.run(preparation[0], env=environ, check=True, capture_output=True, timeout=300)
    log = tmp_path / "serve.log"
    server = start(serving, environ, log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

            def ready() -> bool:
                assert server.poll() is None, log.read_text()
                try:
                    return http.get("/readyz").status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(ready, START_SECONDS, f"nebulo serve did not answer on port {port}", [log])
    finally:
        stop(server)
    assert f"Nebulo on http://127.0.0.1:{port}/" in log.read_text()
