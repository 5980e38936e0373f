"""Integrations, inbound webhooks and messages: the functions routes, jobs and tools call."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.base import (
    DELIVERY_STATUS,
    IGNORED,
    INBOUND_MESSAGE,
    MESSAGE_EDITED,
    ORDER_UPSERT,
    SENDER_CHANGED,
    Connector,
    MalformedWebhook,
    NormalizedEvent,
    ProviderError,
    without_nul,
)
from core.context import Context
from core.db import get_scoped, scoped, utcnow
from core.errors import (
    BadRequest,
    Conflict,
    Invalid,
    NebuloError,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
)
from core.events import publish
from core.metrics.engine import project_timezone, run_queries
from core.metrics.periods import parse_period, today_in
from core.metrics.query import MetricQuery
from plugins.messages import bot_settings, conversations, inbound, links, vault
from plugins.messages.inbound import message_payload
from plugins.messages.models import ChannelConversation, InboundDelivery, Integration, Message

log = logging.getLogger(__name__)

STORED_HEADER_PREFIXES = ("x-shopify-", "x-telegram-", "x-hub-", "content-type")
REDACTED_HEADERS = frozenset(
    {
        "x-telegram-bot-api-secret-token",
        "x-shopify-hmac-sha256",
        "x-hub-signature-256",
        "x-hub-signature",
        "authorization",
        "cookie",
    }
)
"""Stored under their name with ``REDACTED`` for a value: secrets and signatures are only
needed to verify a delivery, which happens before it is stored."""
REDACTED = "[redacted]"
APPLIED_STATES = ("processed", "skipped")
PROCESSING_BATCH = 5
"""Deliveries applied per transaction. On SQLite a batch holds the one writer's turn that
incoming webhooks wait for: 25 (about 150 ms) halved the ingestion rate, 1 slowed processing
by a third (bench_webhooks)."""


def _state() -> Any:
    return current_app.extensions["nebulo"]


def app_settings() -> Any:
    return _state().settings


def connector_classes() -> dict[str, type[Connector]]:
    return _state().registry.connectors


def system_context(project_id: uuid.UUID | str) -> Context:
    """The context jobs act in: the project, with every permission (work the app decided on)."""
    registry = _state().registry
    return Context(
        project_id=uuid.UUID(str(project_id)), permissions=frozenset(registry.permissions)
    )


# ---- integrations --------------------------------------------------------------------------


def connect_integration(
    session: Session,
    ctx: Context,
    provider: str,
    config: Mapping[str, Any],
    *,
    auto_reply: bool = False,
    human_handoff: str = "instead",
    bot: Mapping[str, Any] | None = None,
) -> Integration:
    """Validate ``config`` for ``provider`` and store it, secrets encrypted; ``bot`` is the
    customer bot's settings (``bot_settings.BotSettingsSchema``, already loaded)."""
    ctx.require("manage_integrations")
    connector = connector_classes().get(provider)
    if connector is None:
        known = ", ".join(sorted(connector_classes())) or "none loaded"
        raise Invalid(errors={"provider": [f"Unknown provider {provider!r} (available: {known})."]})
    cleaned = connector.validate_config(config)
    secret_names = connector.secret_fields()
    integration = Integration(
        id=uuid.uuid4(),
        project_id=ctx.project_id,
        provider=provider,
        status="connected",
        public_config={k: v for k, v in cleaned.items() if k not in secret_names},
        auto_reply=auto_reply,
        human_handoff=human_handoff,
        bot_settings=dict(bot or {}),
        webhook_state={},
    )
    secrets = {k: v for k, v in cleaned.items() if k in secret_names}
    integration.encrypted_secrets = vault.encrypt(_state().settings, integration.id, secrets)
    session.add(integration)
    session.flush()
    log.info("project %s connected %s integration %s", ctx.project_id, provider, integration.id)
    return integration


def integration_config(integration: Integration) -> dict[str, Any]:
    """The full decrypted configuration: for connectors only, never for a response."""
    secrets = vault.decrypt(_state().settings, integration.id, integration.encrypted_secrets)
    return {**integration.public_config, **secrets}


def masked_config(integration: Integration) -> dict[str, Any]:
    secrets = vault.decrypt(_state().settings, integration.id, integration.encrypted_secrets)
    return {**integration.public_config, **{k: vault.mask(str(v)) for k, v in secrets.items()}}


def connector_for(integration: Integration) -> Connector:
    connector = connector_classes().get(integration.provider)
    if connector is None:
        raise ServiceUnavailable(f"The {integration.provider} connector is not loaded")
    return connector(integration_config(integration), _state().settings)


def list_integrations(ctx: Context, provider: str | None = None) -> Select:
    ctx.require("view_integrations")
    statement = scoped(Integration, ctx.project_id).order_by(Integration.created_at, Integration.id)
    if provider:
        statement = statement.where(Integration.provider == provider)
    return statement


def get_integration(session: Session, ctx: Context, integration_id: uuid.UUID) -> Integration:
    ctx.require("view_integrations")
    return get_scoped(session, Integration, ctx.project_id, integration_id, what="Integration")


def update_integration(
    session: Session, ctx: Context, integration_id: uuid.UUID, changes: Mapping[str, Any]
) -> Integration:
    """Switch the customer bot (``auto_reply``), its ``human_handoff`` rule and its ``bot``
    settings (only those given change; the result is validated as a whole: 422)."""
    ctx.require("manage_integrations")
    integration = get_integration(session, ctx, integration_id)
    for name in ("auto_reply", "human_handoff"):
        if name in changes:
            setattr(integration, name, changes[name])
    if "bot" in changes:
        try:
            integration.bot_settings = bot_settings.merged(integration.bot_settings, changes["bot"])
        except ValidationError as error:
            raise Invalid(errors={"bot": error.messages}) from None
    session.flush()
    return integration


def disconnect_integration(session: Session, ctx: Context, integration_id: uuid.UUID) -> None:
    """Forget the integration and its stored deliveries; its messages stay in the inbox."""
    ctx.require("manage_integrations")
    session.delete(get_integration(session, ctx, integration_id))
    session.flush()


def start_sync(session: Session, ctx: Context, integration_id: uuid.UUID) -> uuid.UUID:
    """Queue a sync job for the integration; returns the job id."""
    from core.jobs import enqueue
    from plugins.messages.jobs import sync_integration

    ctx.require("manage_integrations")
    integration = get_integration(session, ctx, integration_id)
    if not connector_classes()[integration.provider].supports_sync:
        raise Conflict(f"{integration.provider} integrations have nothing to sync")
    return enqueue(
        sync_integration,
        str(ctx.project_id),
        str(integration.id),
        project_id=ctx.project_id,
        user_id=ctx.user_id,
    )


def sync_integration(
    session_factory: Any, ctx: Context, integration_id: uuid.UUID, progress: Any
) -> dict[str, Any]:
    """Pull what changed since the last sync, a page per transaction; safe to re-run.

    ``session_factory`` is a context manager giving a committed session (a job's
    ``run.session``). ``last_sync`` only moves when every page was applied, to the moment
    this sync started, so the next sync re-reads anything that changed meanwhile.
    """
    with session_factory() as session:
        integration = get_scoped(
            session, Integration, ctx.project_id, integration_id, what="Integration"
        )
        connector = connector_for(integration)
        since = integration.last_sync
    started = utcnow()
    created = updated = 0
    try:
        for page in connector.sync(since, progress):
            with session_factory() as session:
                integration = session.get(Integration, integration_id)
                for event in page:
                    _, was_created = links.upsert_external_order(
                        session, ctx, integration.provider, event.data
                    )
                    created += was_created
                    updated += not was_created
    except Exception as error:
        with session_factory() as session:
            integration = session.get(Integration, integration_id)
            integration.status = "error"
            integration.last_error = viewer_error(error, "The sync")
        raise
    finally:
        connector.close()
    with session_factory() as session:
        integration = session.get(Integration, integration_id)
        integration.status, integration.last_error, integration.last_sync = (
            "connected",
            None,
            started,
        )
    return {"created": created, "updated": updated, "since": since.isoformat() if since else None}


# ---- webhooks ------------------------------------------------------------------------------


def webhook_integration(session: Session, provider: str, integration_id: uuid.UUID) -> Integration:
    integration = session.get(Integration, integration_id)
    if integration is None or integration.provider != provider:
        raise NotFound(f"No {provider} integration {integration_id}")
    return integration


def webhook_handshake(
    session: Session, provider: str, integration_id: uuid.UUID, query: Mapping[str, str]
) -> str:
    """The provider's GET verification (WhatsApp's hub.challenge), or 401."""
    integration = webhook_integration(session, provider, integration_id)
    answer = connector_for(integration).handshake(query)
    if answer is None:
        raise Unauthorized("The webhook verification token does not match")
    return answer


def receive_webhook(
    session: Session,
    provider: str,
    integration_id: uuid.UUID,
    headers: Mapping[str, str],
    raw_body: bytes,
    query: Mapping[str, str],
) -> dict[str, Any]:
    """Verify, store raw, schedule processing. No outbound call, so the provider gets a fast 200.

    A bad signature is 401 and a body that cannot be parsed 400, both with nothing stored.
    A delivery whose id was already stored answers ``duplicate`` and is not applied again.
    One that carries nothing to store (every event ignored) is recorded as ``skipped`` with
    the reasons, and answered so, without a job.
    The delivery and, when none is pending, the job that processes it commit together.
    """
    integration = webhook_integration(session, provider, integration_id)
    connector = connector_for(integration)
    verify = (
        _state().settings.get("NEBULO_WEBHOOK_VERIFY_SIGNATURES") or _state().settings.is_production
    )
    if verify and not connector.verify_webhook(headers, raw_body, query):
        log.warning(
            "rejected %s webhook for integration %s: bad signature", provider, integration_id
        )
        raise Unauthorized("Invalid webhook signature")
    try:
        delivery = connector.parse_webhook(headers, raw_body)
    except MalformedWebhook as error:
        raise BadRequest(f"Malformed {provider} webhook: {error}") from None
    skip_reasons = [
        str(event.data.get("reason") or "ignored")[:500]
        for event in delivery.events
        if event.kind == IGNORED
    ]
    skipped = len(skip_reasons) == len(delivery.events)
    session.add(
        InboundDelivery(
            project_id=integration.project_id,
            integration_id=integration.id,
            provider=provider,
            delivery_id=without_nul(delivery.delivery_id)[:200],
            topic=without_nul(delivery.topic)[:100],
            headers=headers_to_store(headers),
            body=raw_body,
            status="skipped" if skipped else "received",
            skip_reasons=skip_reasons if skipped else [],
            processed_at=utcnow() if skipped else None,
        )
    )
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return {"status": "duplicate", "delivery_id": delivery.delivery_id}
    if skipped:
        session.commit()
        return {"status": "skipped", "delivery_id": delivery.delivery_id, "reasons": skip_reasons}
    schedule_processing(session, integration.project_id, integration.id)
    session.commit()
    return {"status": "accepted", "delivery_id": delivery.delivery_id}


def headers_to_store(headers: Mapping[str, str]) -> dict[str, str]:
    """The provider headers processing reads, with secrets and signatures redacted."""
    return {
        name: REDACTED if name.lower() in REDACTED_HEADERS else without_nul(value)
        for name, value in headers.items()
        if name.lower().startswith(STORED_HEADER_PREFIXES) or name.lower() in REDACTED_HEADERS
    }


def viewer_error(error: Exception, what: str) -> str:
    """The error to store where viewers read it: our own errors and a provider's as they are;
    anything else (a database or driver error quotes SQL and values) as a generic sentence
    about ``what`` failed, with the details in the log."""
    if isinstance(error, NebuloError | MalformedWebhook | ProviderError):
        return (str(error) or type(error).__name__)[:2000]
    log.error("%s failed on an internal error", what, exc_info=error)
    return f"{what} failed on an internal error (the details are in the server log)"


def schedule_processing(session: Session, project_id: uuid.UUID, integration_id: uuid.UUID) -> None:
    """Make sure a job will process the integration's received deliveries; in the caller's
    transaction, so the job is queued only if the delivery commits.

    One job per integration drains every received delivery, rather than a job per delivery
    competing for the database. ``processing_job_id`` names the job that has yet to start
    draining: while it is queued or running nothing more is needed. The job clears it before
    it reads the deliveries (``release_processing``), under the same row lock taken here
    (SQLite has a single writer anyway), so a delivery committed here is either read by that
    job or schedules the next one. A job that failed or vanished is replaced.
    """
    from core.jobs import Job, enqueue
    from plugins.messages.jobs import process_deliveries

    pending_status = session.execute(
        select(Job.status)
        .select_from(Integration)
        .outerjoin(Job, Job.id == Integration.processing_job_id)
        .where(Integration.id == integration_id)
        .with_for_update(of=Integration, key_share=True)
    ).scalar_one()
    if pending_status in ("queued", "running"):
        return
    job_id = enqueue(
        process_deliveries,
        str(project_id),
        str(integration_id),
        project_id=project_id,
        session=session,
    )
    _set_processing_job(session, integration_id, job_id)


def release_processing(session: Session, integration_id: uuid.UUID, job_id: uuid.UUID) -> None:
    """The job is about to read the received deliveries: later ones need a new job."""
    _set_processing_job(session, integration_id, None, only_if=job_id)


def _set_processing_job(
    session: Session,
    integration_id: uuid.UUID,
    job_id: uuid.UUID | None,
    only_if: uuid.UUID | None = None,
) -> None:
    statement = update(Integration).where(Integration.id == integration_id)
    if only_if is not None:
        statement = statement.where(Integration.processing_job_id == only_if)
    # bookkeeping, not a change of the integration: ``updated_at`` stays as it is
    session.execute(
        statement.values(processing_job_id=job_id, updated_at=Integration.updated_at),
        execution_options={"synchronize_session": False},
    )


def list_deliveries(ctx: Context, integration_id: uuid.UUID, status: str | None = None) -> Select:
    ctx.require("view_integrations")
    statement = scoped(InboundDelivery, ctx.project_id).where(
        InboundDelivery.integration_id == integration_id
    )
    if status:
        statement = statement.where(InboundDelivery.status == status)
    return statement.order_by(InboundDelivery.received_at.desc(), InboundDelivery.id)


@dataclass
class DrainOutcome:
    """What one pass over an integration's received deliveries did."""

    processed: int = 0
    to_answer: list[uuid.UUID] = field(default_factory=list)
    failed: dict[uuid.UUID, str] = field(default_factory=dict)


def process_received(
    session_factory: Any, ctx: Context, integration_id: uuid.UUID, *, final: bool
) -> DrainOutcome:
    """Apply every received delivery of the integration, oldest first, a batch per transaction.

    A batch that fails is applied again one delivery per transaction, so only the bad ones
    wait: their error is written on them (``failed`` when ``final``) and they are left out of
    the rest of this pass. ``session_factory`` gives a committed session (``run.session``).
    """
    outcome = DrainOutcome()
    while True:
        with session_factory() as session:
            batch = session.scalars(
                select(InboundDelivery.id)
                .where(
                    InboundDelivery.integration_id == integration_id,
                    InboundDelivery.status == "received",
                    InboundDelivery.id.not_in(outcome.failed),
                )
                .order_by(InboundDelivery.received_at, InboundDelivery.id)
                .limit(PROCESSING_BATCH)
            ).all()
        if not batch:
            return outcome
        try:
            with session_factory() as session:
                answers = [process_delivery(session, ctx, delivery_id) for delivery_id in batch]
        except Exception:  # noqa: BLE001 - retried one by one below, which records the error
            log.info("a batch of deliveries failed; applying them one by one", exc_info=True)
            answers = [_process_alone(session_factory, ctx, d, final, outcome) for d in batch]
        for applied in answers:
            if applied is not None:
                outcome.processed += 1
                outcome.to_answer.extend(applied)


def _process_alone(
    session_factory: Any, ctx: Context, delivery_id: uuid.UUID, final: bool, outcome: DrainOutcome
) -> list[uuid.UUID] | None:
    try:
        with session_factory() as session:
            return process_delivery(session, ctx, delivery_id)
    except Exception as error:  # noqa: BLE001 - written on the delivery, the job retries it
        outcome.failed[delivery_id] = viewer_error(error, f"Applying delivery {delivery_id}")
        with session_factory() as session:
            record_delivery_failure(session, delivery_id, outcome.failed[delivery_id], final)
        return None


def process_delivery(
    session: Session, ctx: Context, delivery_id: uuid.UUID
) -> list[uuid.UUID] | None:
    """Apply a stored delivery's events once; returns the inbound messages the bot should
    answer, or None when it was already processed. Marking it processed first (a conditional
    UPDATE) claims it, so concurrent jobs cannot both apply it."""
    claimed = session.execute(
        update(InboundDelivery)
        .where(
            InboundDelivery.id == delivery_id,
            InboundDelivery.project_id == ctx.project_id,
            InboundDelivery.status.not_in(APPLIED_STATES),
        )
        .values(status="processed", error=None, processed_at=utcnow()),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not claimed:
        return None
    row = session.get(InboundDelivery, delivery_id)
    integration = session.get(Integration, row.integration_id)
    delivery = connector_for(integration).parse_webhook(row.headers, row.body)
    to_answer, skipped = [], []
    for event in delivery.events:
        outcome = apply_event(session, ctx, integration, event)
        if outcome.skipped:
            skipped.append(outcome.skipped[:500])
        message = outcome.message
        if message is not None:
            conversations.track_inbound(session, integration, message)
        if (
            message is not None
            and bot_settings.bot_listens(integration.auto_reply, integration.bot_settings)
            and inbound.is_answerable(message)
        ):
            to_answer.append(message.id)
    row.skip_reasons = skipped
    if len(skipped) == len(delivery.events):
        row.status = "skipped"
    return to_answer


def record_delivery_failure(
    session: Session, delivery_id: uuid.UUID, error: str, final: bool
) -> None:
    row = session.get(InboundDelivery, delivery_id)
    if row is not None and row.status not in APPLIED_STATES:
        row.status = "failed" if final else "received"
        row.error = error[:2000]


def apply_event(
    session: Session, ctx: Context, integration: Integration, event: NormalizedEvent
) -> inbound.EventOutcome:
    """Apply one normalized event: the new inbound message, if any, or why nothing was stored."""
    if event.kind == ORDER_UPSERT:
        links.upsert_external_order(session, ctx, integration.provider, event.data)
    elif event.kind == INBOUND_MESSAGE:
        return inbound.record_inbound(session, ctx, integration, event.data)
    elif event.kind == MESSAGE_EDITED:
        return inbound.record_edit(session, ctx, integration, event.data)
    elif event.kind == DELIVERY_STATUS:
        return inbound.apply_delivery_status(session, ctx, integration, event.data)
    elif event.kind == SENDER_CHANGED:
        return inbound.apply_sender_change(session, ctx, integration, event.data)
    elif event.kind == IGNORED:
        return inbound.EventOutcome(skipped=str(event.data.get("reason") or "ignored"))
    return inbound.EventOutcome()


# ---- messages ------------------------------------------------------------------------------


def sending_integration(
    session: Session, ctx: Context, provider: str, integration_id: uuid.UUID | None
) -> Integration:
    if integration_id is not None:
        integration = get_scoped(
            session, Integration, ctx.project_id, integration_id, what="Integration"
        )
        if integration.provider != provider:
            raise Invalid(
                errors={"integration_id": [f"That integration is {integration.provider}"]}
            )
        return integration
    integration = session.scalar(
        scoped(Integration, ctx.project_id)
        .where(Integration.provider == provider)
        .order_by(Integration.created_at.desc())
        .limit(1)
    )
    if integration is None:
        raise Conflict(f"No {provider} integration is connected in this project")
    return integration


def create_outbound(
    session: Session,
    ctx: Context,
    *,
    provider: str,
    content: str,
    recipient: Mapping[str, Any] | None = None,
    order_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    integration_id: uuid.UUID | None = None,
    content_type: str = "text",
    ai_generated: bool = False,
    reply_to_id: uuid.UUID | None = None,
    details: Mapping[str, Any] | None = None,
) -> Message:
    """A queued outbound message; the recipient comes from the body, the customer or the order.
    WhatsApp free text outside the customer's 24-hour window is refused here (409), before
    anything is stored or sent; a ``template`` message is what is allowed then."""
    ctx.require("send_messages")
    connector = connector_classes().get(provider)
    if connector is None or not connector.supports_messages:
        able = sorted(name for name, c in connector_classes().items() if c.supports_messages)
        raise Invalid(errors={"provider": [f"Messages go through one of: {', '.join(able)}."]})
    integration = sending_integration(session, ctx, provider, integration_id)
    order = links.get_order(session, ctx, order_id) if order_id else None
    if order is not None:
        if customer_id and order.customer_id and order.customer_id != customer_id:
            raise Invalid(errors={"customer_id": ["The order belongs to another customer."]})
        customer_id = customer_id or order.customer_id
    customer = links.find_customer(session, ctx, customer_id) if customer_id else None
    if customer_id and customer is None:
        raise Invalid(errors={"customer_id": [f"Unknown customer {customer_id}."]})
    target = {k: v for k, v in (recipient or {}).items() if v}
    if customer is not None:
        target = {
            **{k: v for k, v in links.recipient_of(customer, provider).items() if v},
            **target,
        }
    needed = "chat_id" if provider == "telegram" else "phone"
    if not target.get(needed):
        raise Invalid(errors={"recipient": [f"{provider} needs the recipient's {needed}."]})
    if content_type != "template":
        conversations.require_window(session, integration, target)
    message = Message(
        project_id=ctx.project_id,
        integration_id=integration.id,
        provider=provider,
        direction="outbound",
        status="queued",
        content=content,
        content_type=content_type,
        recipient=target,
        customer_id=customer.id if customer else None,
        order_id=order.id
        if order
        else (links.latest_order_id(session, ctx, customer.id) if customer else None),
        is_read=True,
        ai_generated=ai_generated,
        reply_to_id=reply_to_id,
        details=dict(details) if details else None,
    )
    session.add(message)
    session.flush()
    conversations.record_reply(session, integration, message)
    session.flush()
    return message


def queue_for_sending(session: Session, message: Message) -> uuid.UUID:
    """Commit the message, then queue the job that sends it (the job must see the row)."""
    from core.jobs import enqueue
    from plugins.messages.jobs import deliver_message

    session.commit()
    message.job_id = enqueue(
        deliver_message, str(message.project_id), str(message.id), project_id=message.project_id
    )
    session.commit()
    return message.job_id


UNKNOWN_SEND_OUTCOME = (
    "whether the provider accepted the message is unknown, so it was not sent again (that "
    "could deliver it twice); send it again if the recipient did not get it"
)
WORKER_DIED_MID_SEND = "The worker stopped while the provider was being called"


def claim_for_sending(session: Session, ctx: Context, message_id: uuid.UUID) -> Message | None:
    """The message marked ``sending`` (the caller commits before calling the provider), or
    None when there is nothing to send. A message found ``sending`` was being sent by a worker
    that died mid-call: it ends failed with an explanation rather than risk a second copy (a
    WhatsApp status callback carrying its id still reconciles it, see apply_delivery_status)."""
    message = get_scoped(session, Message, ctx.project_id, message_id, what="Message")
    if message.provider_message_id is not None or message.status not in ("queued", "sending"):
        return None
    if message.status == "sending":
        mark_outcome_unknown(session, ctx, message_id, WORKER_DIED_MID_SEND)
        return None
    message.status = "sending"
    return message


def mark_outcome_unknown(session: Session, ctx: Context, message_id: uuid.UUID, cause: str) -> None:
    """End a message whose send may or may not have reached the provider: failed, never
    re-sent, with the cause; a later status callback naming it can still reconcile it."""
    message = get_scoped(session, Message, ctx.project_id, message_id, what="Message")
    if message.provider_message_id is None:
        message.status, message.error = "failed", f"{cause}: {UNKNOWN_SEND_OUTCOME}"[:2000]


def mark_sent(
    session: Session, ctx: Context, message_id: uuid.UUID, provider_message_id: str
) -> Message:
    """Record the provider's acceptance; after this the message is never sent again."""
    message = get_scoped(session, Message, ctx.project_id, message_id, what="Message")
    message.provider_message_id = provider_message_id
    message.status, message.sent_at, message.error = "sent", utcnow(), None
    integration = (
        session.get(Integration, message.integration_id) if message.integration_id else None
    )
    if integration is not None and integration.status == "error":
        integration.status, integration.last_error = "connected", None
    publish(session, "message.sent", ctx.project_id, message_payload(message))
    return message


def mark_failed(
    session: Session, ctx: Context, message_id: uuid.UUID, error: str, final: bool
) -> None:
    """Note the provider's error; a final failure ends the message (and flags the integration)."""
    message = get_scoped(session, Message, ctx.project_id, message_id, what="Message")
    if message.provider_message_id is not None:
        return
    message.status, message.error = "queued", error[:2000]
    if final:
        message.status = "failed"
        integration = (
            session.get(Integration, message.integration_id) if message.integration_id else None
        )
        if integration is not None:
            integration.status, integration.last_error = "error", error[:2000]


def get_message(session: Session, ctx: Context, message_id: uuid.UUID) -> Message:
    ctx.require("view_messages")
    return get_scoped(session, Message, ctx.project_id, message_id, what="Message")


def inbox(ctx: Context, filters: Mapping[str, Any]) -> Select:
    """Messages newest first, filtered as in seed 001 (direction, provider, order, read, days)
    and by sentiment."""
    ctx.require("view_messages")
    statement = scoped(Message, ctx.project_id)
    for name in (
        "direction",
        "provider",
        "order_id",
        "customer_id",
        "is_read",
        "needs_human",
        "ai_generated",
        "sentiment",
    ):
        if filters.get(name) is not None:
            statement = statement.where(getattr(Message, name) == filters[name])
    if filters.get("days"):
        statement = statement.where(
            Message.created_at >= utcnow() - timedelta(days=filters["days"])
        )
    if filters.get("waiting_for_human") is not None:
        waiting = select(ChannelConversation.id).where(
            ChannelConversation.project_id == ctx.project_id,
            ChannelConversation.status == "waiting_human",
        )
        inside = Message.conversation_id.in_(waiting)
        statement = statement.where(inside if filters["waiting_for_human"] else ~inside)
    return statement.order_by(Message.created_at.desc(), Message.id)


def conversation(
    ctx: Context,
    *,
    order_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    provider: str | None = None,
    chat_id: str | None = None,
) -> Select:
    """Every message about one order, with one customer or in one group chat, oldest first."""
    ctx.require("view_messages")
    statement = scoped(Message, ctx.project_id)
    if order_id is not None:
        statement = statement.where(Message.order_id == order_id)
    if customer_id is not None:
        statement = statement.where(Message.customer_id == customer_id)
    if chat_id is not None:
        statement = statement.where(Message.provider == provider, Message.chat_id == chat_id)
    return statement.order_by(Message.created_at, Message.id)


def mark_read(session: Session, ctx: Context, message_id: uuid.UUID) -> Message:
    ctx.require("send_messages")
    message = get_scoped(session, Message, ctx.project_id, message_id, what="Message")
    if not message.is_read:
        message.is_read, message.read_at = True, message.read_at or utcnow()
    session.flush()
    return message


def message_stats(session: Session, ctx: Context, days: int = 30) -> dict[str, Any]:
    """Seed 001's message counts over the past ``days`` days (whole days in the project's
    time zone, today included): the messages metrics (``plugins/messages/metrics.py``) read
    in one batch, so they equal what the metrics API and the assistant say for that period.
    ``unread`` and ``needs_human`` count the period's received messages, not the whole inbox
    (``unread_messages`` and ``messages_needing_human`` are those)."""
    timezone = project_timezone(session, ctx.project_id)
    period = parse_period(f"past {days} days", today_in(timezone))
    totals, by_channel, by_status = run_queries(
        session,
        ctx,
        [
            MetricQuery(
                (
                    "all_messages",
                    "inbound_messages",
                    "outbound_messages",
                    "unread_received_messages",
                    "ai_answered_messages",
                    "messages_flagged_for_human",
                ),
                period,
            ),
            MetricQuery(("all_messages",), period, group_by=("channel",)),
            MetricQuery(("all_messages",), period, group_by=("message_status",)),
        ],
        timezone=timezone,
    )
    figures = totals.totals
    statuses = {
        row["message_status"]: row["all_messages"] for row in by_status.rows if row["all_messages"]
    }
    return {
        "period_days": days,
        "total_messages": figures["all_messages"],
        "inbound": figures["inbound_messages"],
        "outbound": figures["outbound_messages"],
        "unread": figures["unread_received_messages"],
        "ai_generated": figures["ai_answered_messages"],
        "needs_human": figures["messages_flagged_for_human"],
        "by_provider": {
            row["channel"]: row["all_messages"] for row in by_channel.rows if row["all_messages"]
        },
        "by_status": statuses,
        "failed": statuses.get("failed", 0),
    }
