"""``/api/v1/ws/<project_id>``: a project's committed events pushed over a WebSocket.

Authenticate with ``Authorization: Bearer <access token>``, ``?token=<access token>`` (browsers
cannot set headers on a WebSocket) or ``X-API-Key``; the caller needs ``view_project`` in that
project. The first frame is ``{"type": "subscribed", "project_id": ...}``; every later frame is
one event ``{"id", "name", "project_id", "payload", "occurred_at"}``. A refused connection gets
one error frame ``{"detail", "code", "timestamp"}`` and is closed with code 4000 + the HTTP
status it would have had (4401 unauthenticated, 4403 forbidden, 4404 no such project); a
feed that breaks (Redis gone) is closed with 1011 and the client should reconnect. Messages
from the client are ignored.
"""

from __future__ import annotations

import json
import logging
import uuid

from flask import Flask, current_app
from simple_websocket import ConnectionClosed, Server

from core.context import project_context
from core.db import close_request_session
from core.errors import NebuloError, utc_timestamp
from core.events import event_broker
from core.http import any_query_parameters

log = logging.getLogger(__name__)

PATH = "/api/v1/ws/<uuid:project_id>"
POLL_SECONDS = 1.0
CLOSE_REASON_BYTES = 120
CLOSE_UNAVAILABLE = 1011
CLOSE_HANDSHAKE_SECONDS = 2.0


@any_query_parameters
def project_events(ws: Server, project_id: uuid.UUID) -> None:
    """Push the project's events until the client goes away."""
    try:
        project_context(project_id, "view_project")
    except NebuloError as error:
        _refuse(ws, error)
        return
    finally:
        close_request_session()  # no database connection is held while the socket is open
    try:
        _stream(ws, project_id)
    except ConnectionClosed:
        raise
    except Exception:  # noqa: BLE001 - e.g. Redis went away: tell the client to reconnect
        log.exception("event feed of project %s failed", project_id)
        ws.close(reason=CLOSE_UNAVAILABLE, message="The event feed is unavailable; reconnect later")


def _stream(ws: Server, project_id: uuid.UUID) -> None:
    with event_broker(current_app).subscribe(project_id) as subscription:
        ws.send(json.dumps({"type": "subscribed", "project_id": str(project_id)}))
        while True:
            message = subscription.get(timeout=POLL_SECONDS)
            if message is not None:
                ws.send(message)
            ws.receive(timeout=0)  # raises ConnectionClosed once the client has gone


def _refuse(ws: Server, error: NebuloError) -> None:
    ws.send(json.dumps({"detail": error.detail, "code": error.code, "timestamp": utc_timestamp()}))
    reason = error.detail.encode()[:CLOSE_REASON_BYTES].decode(errors="ignore")
    ws.close(reason=4000 + error.status, message=reason)
    # Wait for the client's close reply before the server drops the socket: closing with its
    # reply unread makes the kernel send a reset, which can destroy the error frame in flight.
    ws.thread.join(CLOSE_HANDSHAKE_SECONDS)


def init_app(app: Flask) -> None:
    app.extensions["nebulo"].sock.route(PATH, endpoint="project_events")(project_events)
