"""Outbound webhooks: registration, the delivery rows an event creates, and the signed POST.

Every delivery is ``POST <url>`` with the JSON body ``{"id", "event", "project_id",
"occurred_at", "payload"}`` and the headers ``X-Nebulo-Event`` (the event name),
``X-Nebulo-Delivery`` (the delivery id) and ``X-Nebulo-Signature: sha256=<hex HMAC-SHA256 of
the raw body, keyed with the webhook's secret>``. A non-2xx answer or a network error is
retried by the jobs system; after the last attempt the delivery is ``failed`` with its error.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import Select
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session

from core.context import Context
from core.db import get_scoped, scoped, utcnow
from core.errors import Invalid, NotFound
from core.jobs import JobRun
from core.plugins import job_name
from core.schemas import isoformat_z
from core.webhooks.models import DELIVERED, FAILED, PENDING, Webhook, WebhookDelivery

if TYPE_CHECKING:
    from core.events import Event

MAX_ERROR_LENGTH = 2000
ACTIVE_WEBHOOKS_KEY = "nebulo_active_webhooks"
USER_AGENT = "Nebulo-Webhooks/1"


class DeliveryFailed(Exception):
    """The receiver did not accept the delivery; the jobs system tries again."""


def generate_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _normalized_events(names: list[str]) -> list[str]:
    """``*`` swallows every other name; duplicates go, order stays."""
    if "*" in names:
        return ["*"]
    return list(dict.fromkeys(names))


def _validated_url(url: str) -> str:
    """Refuse at once a URL that delivery would refuse (server-side request forgery); each
    delivery checks again, since DNS may change after saving."""
    from core import outbound  # imports httpx, which every ``nebulo`` command would pay for

    allow_private = current_app.extensions["nebulo"].settings.allow_private_urls
    try:
        outbound.check_url(url, allow_private=allow_private)
    except outbound.RefusedDestination as error:
        raise Invalid(errors={"url": [str(error)]}) from None
    return url


def create_webhook(session: Session, ctx: Context, data: dict[str, Any]) -> Webhook:
    webhook = Webhook(
        project_id=ctx.project_id,
        url=_validated_url(data["url"]),
        events=_normalized_events(data["events"]),
        secret=data.get("secret") or generate_secret(),
        is_active=data.get("is_active", True),
    )
    session.add(webhook)
    session.flush()
    _forget_active_webhooks(session)
    return webhook


def list_webhooks(ctx: Context) -> Select[tuple[Webhook]]:
    return scoped(Webhook, ctx.project_id).order_by(Webhook.created_at, Webhook.id)


def get_webhook(session: Session, ctx: Context, webhook_id: uuid.UUID) -> Webhook:
    return get_scoped(session, Webhook, ctx.project_id, webhook_id, what="Webhook")


def update_webhook(
    session: Session, ctx: Context, webhook_id: uuid.UUID, changes: dict[str, Any]
) -> Webhook:
    webhook = get_webhook(session, ctx, webhook_id)
    if "events" in changes:
        changes = {**changes, "events": _normalized_events(changes["events"])}
    if "url" in changes:
        changes = {**changes, "url": _validated_url(changes["url"])}
    for name, value in changes.items():
        setattr(webhook, name, value)
    _forget_active_webhooks(session)
    return webhook


def delete_webhook(session: Session, ctx: Context, webhook_id: uuid.UUID) -> None:
    """Delete the webhook and its delivery log; queued deliveries to it are skipped."""
    session.delete(get_webhook(session, ctx, webhook_id))
    _forget_active_webhooks(session)


def list_deliveries(
    session: Session, ctx: Context, webhook_id: uuid.UUID
) -> Select[tuple[WebhookDelivery]]:
    webhook = get_webhook(session, ctx, webhook_id)
    return (
        scoped(WebhookDelivery, ctx.project_id)
        .where(WebhookDelivery.webhook_id == webhook.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
    )


def record_deliveries(session: Session, event: Event) -> list[uuid.UUID]:
    """A pending delivery per active webhook wanting ``event``, in the publisher's transaction."""
    webhooks = active_webhooks(session, event.project_id)
    body = {
        "id": str(event.id),
        "event": event.name,
        "project_id": str(event.project_id),
        "occurred_at": isoformat_z(event.occurred_at),
        "payload": event.payload,
    }
    deliveries = [
        WebhookDelivery(
            id=uuid.uuid4(),
            project_id=event.project_id,
            webhook_id=webhook.id,
            event_id=event.id,
            event_name=event.name,
            body=body,
        )
        for webhook in webhooks
        if webhook.wants(event.name)
    ]
    session.add_all(deliveries)
    return [delivery.id for delivery in deliveries]


def active_webhooks(session: Session, project_id: uuid.UUID) -> list[Webhook]:
    """The project's active webhooks, read once per transaction: a batch that publishes
    thousands of events (say, risk alerts) must not query them once per event."""
    cache = session.info.setdefault(ACTIVE_WEBHOOKS_KEY, {})
    if project_id not in cache:
        cache[project_id] = session.scalars(
            scoped(Webhook, project_id).where(Webhook.is_active.is_(True))
        ).all()
    return cache[project_id]


@orm_event.listens_for(Session, "after_transaction_end")
def _forget_active_webhooks(session: Session, *_transaction: Any) -> None:
    """Also called by the functions above that change webhooks."""
    session.info.pop(ACTIVE_WEBHOOKS_KEY, None)


def signature(secret: str, body: bytes) -> str:
    """The ``X-Nebulo-Signature`` value: receivers recompute it over the raw body and compare."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class _Target:
    url: str
    secret: str
    event_name: str
    body: bytes


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    response_status: int | None = None
    error: str | None = None
    retry: bool = True


def _post(target: _Target, delivery_id: uuid.UUID, timeout: float, allow_private: bool) -> _Outcome:
    """One POST through the outbound guard. Only our own words are logged: the receiver's
    body, or the text of a malformed answer, must not end up in the delivery log."""
    import httpx

    from core import outbound

    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Nebulo-Event": target.event_name,
        "X-Nebulo-Delivery": str(delivery_id),
        "X-Nebulo-Signature": signature(target.secret, target.body),
    }
    try:
        with outbound.client(allow_private=allow_private, timeout=timeout) as http:
            response = http.post(target.url, content=target.body, headers=headers)
    except outbound.RefusedDestination as error:
        return _Outcome(False, error=f"Refused: {error}"[:MAX_ERROR_LENGTH], retry=False)
    except httpx.HTTPError as error:
        return _Outcome(False, error=outbound.describe_failure(error)[:MAX_ERROR_LENGTH])
    if response.is_success:
        return _Outcome(True, response.status_code)
    return _Outcome(False, response.status_code, f"HTTP {response.status_code} from the receiver")


def _pending_delivery(
    session: Session, run: JobRun, delivery_id: uuid.UUID
) -> WebhookDelivery | None:
    """The delivery, or None when its webhook was deleted meanwhile (the log went with it)."""
    try:
        return get_scoped(session, WebhookDelivery, uuid.UUID(str(run.project_id)), delivery_id)
    except NotFound:
        return None


def _max_attempts(run: JobRun) -> int:
    return run.app.extensions["nebulo"].registry.jobs[job_name(deliver_webhook)].retries + 1


def deliver_webhook(run: JobRun, delivery_id: str) -> dict[str, Any]:
    """Send one delivery and log the attempt; raise so that the jobs system retries it."""
    delivery_uuid = uuid.UUID(delivery_id)
    skipped = {"delivery_id": delivery_id, "status": "skipped"}
    with run.session() as session:
        delivery = _pending_delivery(session, run, delivery_uuid)
        if delivery is None or delivery.status != PENDING:
            return skipped
        webhook = session.get(Webhook, delivery.webhook_id)
        if not webhook.is_active:
            delivery.status, delivery.error = FAILED, "The webhook was deactivated before delivery"
            return {"delivery_id": delivery_id, "status": FAILED}
        target = _Target(
            webhook.url,
            webhook.secret,
            delivery.event_name,
            json.dumps(delivery.body, separators=(",", ":")).encode(),
        )
    settings = run.app.extensions["nebulo"].settings
    outcome = _post(
        target, delivery_uuid, settings.webhook_timeout_seconds, bool(settings.allow_private_urls)
    )
    with run.session() as session:
        delivery = _pending_delivery(session, run, delivery_uuid)
        if delivery is None:
            return skipped
        delivery.attempts += 1
        delivery.last_attempt_at = utcnow()
        delivery.response_status = outcome.response_status
        delivery.error = outcome.error
        if outcome.ok:
            delivery.status = DELIVERED
        elif not outcome.retry or run.attempt >= _max_attempts(run):
            delivery.status = FAILED
        status, attempts = delivery.status, delivery.attempts
    if not outcome.ok and outcome.retry:
        raise DeliveryFailed(f"delivery {delivery_id} attempt {attempts}: {outcome.error}")
    return {
        "delivery_id": delivery_id,
        "status": status,
        "response_status": outcome.response_status,
    }
