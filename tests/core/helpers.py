"""Assertions shared by the core tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from flask import Flask
from simple_websocket import Client
from werkzeug.serving import make_server

from core.hookspecs import hookimpl

ERROR_KEYS = {"detail", "code", "timestamp"}


def assert_error(response: Any, status: int, code: str | None = None) -> dict:
    """The response is ``status`` in Nebulo's one error format; returns the body."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert ERROR_KEYS <= set(body) <= ERROR_KEYS | {"errors"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["timestamp"].endswith("Z")
    if code is not None:
        assert body["code"] == code, body
    return body


def make_plugin(name: str, **hooks: Callable[..., Any]) -> ModuleType:
    """An in-memory plugin module: each keyword is a hook implementation."""
    module = ModuleType(f"nebulo_test_plugin_{name}")
    for hook, function in hooks.items():
        function.__name__ = hook
        setattr(module, hook, hookimpl(function))
    return module


class WebSocketClient(Client):
    """simple_websocket's client, without its lost-first-frame race.

    Its handshake reads the server's 101 answer and takes only the first event: when the
    server's first frame came in the same read (our feeds send one right after accepting),
    that frame waits in the parser until more bytes arrive. The reader thread hands those
    parsed events over before it waits for more."""

    def _thread(self) -> None:
        self.connected = self._handle_events()
        if self.connected:
            super()._thread()
        else:
            self.sock.close()


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """``app`` served over real HTTP (WebSockets too) on 127.0.0.1 from a thread: its
    ``host:port``, until the block ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
