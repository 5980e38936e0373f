"""Fixtures: an app with the test tools, fake Gemini/OpenAI servers on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.assistant import asstest_plugin
from tests.conftest import ApiClient

FAST = {"NEBULO_ASSISTANT_RETRY_DELAY_SECONDS": 0.01, "NEBULO_ASSISTANT_TIMEOUT_SECONDS": 2.0}


class FakeServer:
    """An HTTP server answering POSTs from a script of (status, body) replies, recording requests.

    A reply may be a callable ``(request_json) -> (status, body)``; ``"sleep"`` as status waits
    past the client's timeout. ``authorize(headers)`` checks the credentials first, as the real
    API does: it returns ``None`` to let the request through or the ``(status, body)`` refusal.
    """

    def __init__(self):
        self.authorize: Callable[[Any], tuple[int, dict] | None] | None = None
        self.replies: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                fake.paths.append(self.path)
                refusal = fake.authorize(self.headers) if fake.authorize else None
                if refusal:
                    status, payload = refusal
                else:
                    reply = (
                        fake.replies.pop(0)
                        if fake.replies
                        else (500, {"error": "script exhausted"})
                    )
                    status, payload = reply(body) if callable(reply) else reply
                if status == "sleep":
                    threading.Event().wait(3)
                    status = 200
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def assistant_app(make_app):
    """An app with the test tools; ``assistant_app(**plugin_settings)`` for another provider."""

    def build(**plugin_settings):
        values = dict(FAST)
        values.update(plugin_settings)
        return make_app(
            extra_plugins=[("asstest", asstest_plugin)],
            plugins=("assistant", "asstest"),
            plugin=values,
        )

    return build


class Caller:
    """An owner with a project on an app, plus helpers for the assistant endpoints."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.api = ApiClient(self.client)
        self.headers = self.api.user_headers()
        self.project = self.api.project(self.headers)
        self.project_id = self.project["id"]

    def query(self, message: str, expect: int = 200, headers: dict | None = None, **extra) -> dict:
        body = {"project_id": self.project_id, "message": message, **extra}
        response = self.client.post(
            "/api/v1/assistant/query", json=body, headers=headers or self.headers
        )
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def member_headers(self, role: str) -> dict[str, str]:
        user = self.api.register()
        response = self.client.post(
            f"/api/v1/projects/{self.project_id}/members",
            json={"email": user["email"], "role": role},
            headers=self.headers,
        )
        assert response.status_code in (200, 201), response.get_json()
        return {"Authorization": f"Bearer {self.api.login(user['email'])['access_token']}"}


@pytest.fixture
def offline(assistant_app) -> Caller:
    return Caller(assistant_app(NEBULO_ASSISTANT_PROVIDER="offline"))
