"""Domain events: ``publish`` inside a transaction, delivery once that transaction commits.

An event published on a session waits in ``session.info`` until the session commits; a
rollback drops it, so nobody ever hears of a change that did not happen. On commit each event
goes, in this order, to the ``on_event`` hooks of the loaded plugins, to the WebSocket
subscribers of its project (through Redis pub/sub when ``REDIS_URL`` is set, so every process
hears it; in process otherwise) and to the project's outbound webhooks, whose delivery rows
were written in the same transaction as the change itself.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import redis
from flask import Flask, current_app, has_app_context
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session, SessionTransaction

from core import jobs
from core.config import Settings
from core.db import utcnow
from core.schemas import isoformat_z, plain_json
from core.webhooks.services import deliver_webhook, record_deliveries

log = logging.getLogger(__name__)

EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
PENDING_KEY = "nebulo_pending_events"
SUBSCRIBER_QUEUE_SIZE = 1000


@dataclass(frozen=True)
class Event:
    """Something that happened in a project, e.g. ``order.created``; ``payload`` is plain JSON."""

    id: uuid.UUID
    name: str
    project_id: uuid.UUID
    payload: dict[str, Any]
    occurred_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "project_id": str(self.project_id),
            "payload": self.payload,
            "occurred_at": isoformat_z(self.occurred_at),
        }


@dataclass(frozen=True)
class _Pending:
    """An event waiting for its session to commit, with the app that will deliver it."""

    app: Flask
    event: Event
    delivery_ids: list[uuid.UUID]


def publish(session: Session, name: str, project_id: uuid.UUID, payload: dict[str, Any]) -> None:
    """Announce ``name`` in ``project_id``; it is delivered after ``session`` commits.

    UUIDs, Decimals and datetimes in ``payload`` become strings; anything else must be JSON.
    """
    if not EVENT_NAME.match(name):
        raise ValueError(f"event name {name!r} must look like 'order.created'")
    event = Event(
        id=uuid.uuid4(),
        name=name,
        project_id=project_id,
        payload=plain_json(payload, "an event payload"),
        occurred_at=utcnow(),
    )
    pending = _Pending(current_app._get_current_object(), event, record_deliveries(session, event))
    session.info.setdefault(PENDING_KEY, []).append(pending)


@orm_event.listens_for(Session, "after_commit")
def _deliver_committed(session: Session) -> None:
    root = session.get_transaction()
    if root is not None and root.is_active:
        # A SAVEPOINT was released (``begin_nested``): SQLAlchemy calls this hook for it too,
        # but nothing is committed until the outermost transaction is.
        return
    for pending in session.info.pop(PENDING_KEY, ()):
        with _app_context(pending.app):
            deliver(pending.app, pending.event, pending.delivery_ids)


@orm_event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    """Whatever is still pending when the outermost transaction ends was rolled back."""
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


def _app_context(app: Flask):
    if has_app_context() and current_app._get_current_object() is app:
        return nullcontext()
    return app.app_context()


def deliver(app: Flask, event: Event, delivery_ids: list[uuid.UUID]) -> None:
    """Fan a committed event out; a failing channel is logged and does not stop the others."""
    state = app.extensions["nebulo"]
    state.plugins.call_each("on_event", event=event)
    try:
        event_broker(app).publish(event)
    except Exception:  # noqa: BLE001 - subscribers missing one event must not fail the commit
        log.exception("event %s %s: WebSocket push failed", event.name, event.id)
    for delivery_id in delivery_ids:
        try:
            jobs.enqueue(deliver_webhook, str(delivery_id), project_id=event.project_id)
        except Exception:  # noqa: BLE001
            log.exception(
                "event %s: webhook delivery %s could not be queued", event.id, delivery_id
            )


class Subscription(Protocol):
    def get(self, timeout: float) -> str | None:
        """The next event of the project as JSON text, or None after ``timeout`` seconds."""


class _QueueSubscription:
    def __init__(self, messages: queue.Queue[str]):
        self.messages = messages

    def get(self, timeout: float) -> str | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None


class InProcessBroker:
    """Events for the subscribers of this process only (the embedded, single-process mode)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[uuid.UUID, set[queue.Queue[str]]] = defaultdict(set)

    def publish(self, event: Event) -> None:
        message = json.dumps(event.as_json())
        with self._lock:
            subscribers = list(self._subscribers.get(event.project_id, ()))
        for messages in subscribers:
            try:
                messages.put_nowait(message)
            except queue.Full:
                log.warning("event %s dropped for a subscriber that stopped reading", event.id)

    def subscriber_count(self, project_id: uuid.UUID) -> int:
        """Open WebSocket feeds of the project in this process."""
        with self._lock:
            return len(self._subscribers.get(project_id, ()))

    @contextmanager
    def subscribe(self, project_id: uuid.UUID) -> Iterator[Subscription]:
        messages: queue.Queue[str] = queue.Queue(maxsize=SUBSCRIBER_QUEUE_SIZE)
        with self._lock:
            self._subscribers[project_id].add(messages)
        try:
            yield _QueueSubscription(messages)
        finally:
            with self._lock:
                self._subscribers[project_id].discard(messages)
                if not self._subscribers[project_id]:
                    del self._subscribers[project_id]


class _RedisSubscription:
    def __init__(self, pubsub: redis.client.PubSub):
        self.pubsub = pubsub

    def get(self, timeout: float) -> str | None:
        message = self.pubsub.get_message(timeout=timeout)
        if message is None or message["type"] != "message":
            return None
        return message["data"].decode()


class RedisBroker:
    """Events through Redis pub/sub, channel ``<namespace>:events:<project_id>``: all processes."""

    def __init__(self, url: str, namespace: str):
        self.client = redis.Redis.from_url(url)
        self.namespace = namespace

    def channel(self, project_id: uuid.UUID) -> str:
        return f"{self.namespace}:events:{project_id}"

    def publish(self, event: Event) -> None:
        self.client.publish(self.channel(event.project_id), json.dumps(event.as_json()))

    def subscriber_count(self, project_id: uuid.UUID) -> int:
        """Open WebSocket feeds of the project in every process."""
        [(_channel, count)] = self.client.pubsub_numsub(self.channel(project_id))
        return int(count)

    @contextmanager
    def subscribe(self, project_id: uuid.UUID, timeout: float = 5.0) -> Iterator[Subscription]:
        """Subscribed once Redis has confirmed it, so no event published afterwards is missed."""
        pubsub = self.client.pubsub()
        try:
            pubsub.subscribe(self.channel(project_id))
            confirmation = pubsub.get_message(timeout=timeout)
            if confirmation is None or confirmation["type"] != "subscribe":
                raise ConnectionError(
                    f"Redis did not confirm the subscription to {self.channel(project_id)}"
                )
            yield _RedisSubscription(pubsub)
        finally:
            pubsub.close()


def make_broker(settings: Settings) -> InProcessBroker | RedisBroker:
    if settings.redis_url:
        return RedisBroker(settings.redis_url, settings.redis_namespace)
    return InProcessBroker()


def event_broker(app: Flask) -> InProcessBroker | RedisBroker:
    return app.extensions["nebulo"].services["events"]


def init_app(app: Flask) -> None:
    """Give the app its event broker."""
    state = app.extensions["nebulo"]
    state.services["events"] = make_broker(state.settings)
