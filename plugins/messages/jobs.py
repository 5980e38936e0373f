"""Background work of the messages plugin: process deliveries, send messages, sync, answer,
score the sentiment of messages stored before scoring existed."""

from __future__ import annotations

import uuid
from typing import Any

from connectors.base import ProviderError, call_with_rate_limit
from core.jobs import JobRun, enqueue
from plugins.messages import bot, sentiment, services, templates, webhook_setup
from plugins.messages.models import Integration

PROCESS_RETRIES = 3
SEND_RETRIES = 4
SYNC_RETRIES = 0
ANSWER_RETRIES = 2
WEBHOOK_RETRIES = 0
SENTIMENT_RETRIES = 1


def process_deliveries(run: JobRun, project_id: str, integration_id: str) -> dict[str, Any]:
    """Apply every received webhook delivery of an integration (``services.schedule_processing``
    queues this job). A delivery that fails has its error written on it and makes the job
    fail, so the job is retried; on the last attempt such deliveries end ``failed``."""
    ctx = services.system_context(project_id)
    integration = uuid.UUID(integration_id)
    with run.session() as session:
        services.release_processing(session, integration, run.job_id)
    outcome = services.process_received(
        run.session, ctx, integration, final=run.attempt > PROCESS_RETRIES
    )
    for message_id in outcome.to_answer:
        enqueue(answer_customer, project_id, str(message_id), project_id=project_id)
    if outcome.failed:
        delivery_id, error = next(iter(outcome.failed.items()))
        raise RuntimeError(
            f"{len(outcome.failed)} delivery(ies) failed, e.g. {delivery_id}: {error}"
        )
    return {"processed": outcome.processed, "answering": len(outcome.to_answer)}


def deliver_message(run: JobRun, project_id: str, message_id: str) -> dict[str, Any]:
    """Send one queued message, at most once: ``sending`` is committed before the provider
    call and the provider's id right after it, so a retry never repeats an accepted send (see
    ``services.claim_for_sending``). When the last attempt fails the message ends ``failed``."""
    ctx = services.system_context(project_id)
    try:
        return _deliver(run, ctx, uuid.UUID(message_id))
    except Exception as error:
        if run.attempt > SEND_RETRIES:
            with run.session() as session:
                services.mark_failed(
                    session,
                    ctx,
                    uuid.UUID(message_id),
                    services.viewer_error(error, "Sending the message"),
                    final=True,
                )
        raise


def _deliver(run: JobRun, ctx: Any, message_id: uuid.UUID) -> dict[str, Any]:
    with run.session() as session:
        message = services.claim_for_sending(session, ctx, message_id)
        if message is None:
            return {"status": "already handled"}
        integration = (
            session.get(Integration, message.integration_id) if message.integration_id else None
        )
        if integration is None:
            services.mark_failed(
                session, ctx, message.id, "The integration was disconnected", final=True
            )
            return {"status": "failed"}
        connector = services.connector_for(integration)
        recipient, content = dict(message.recipient), message.content
        content_type, details = message.content_type, dict(message.details or {})
    try:
        sent = call_with_rate_limit(
            lambda: _send(connector, recipient, content, content_type, details, str(message_id)),
            attempts=3,
            max_wait=30,
        )
    except ProviderError as error:
        if error.outcome_unknown:
            with run.session() as session:
                services.mark_outcome_unknown(session, ctx, message_id, str(error))
            return {"status": "failed", "error": str(error)}
        if error.retryable:
            with run.session() as session:
                services.mark_failed(session, ctx, message_id, str(error), final=False)
            raise
        with run.session() as session:
            services.mark_failed(session, ctx, message_id, str(error), final=True)
        return {"status": "failed", "error": str(error)}
    finally:
        connector.close()
    with run.session() as session:
        services.mark_sent(session, ctx, message_id, sent.provider_message_id)
    return {"status": "sent", "provider_message_id": sent.provider_message_id}


def _send(
    connector: Any,
    recipient: dict[str, Any],
    content: str,
    content_type: str,
    details: dict[str, Any],
    reference: str,
) -> Any:
    """A template goes as a template (WhatsApp); a reply with buttons carries them
    (Telegram's inline keyboard); anything else as text."""
    if content_type == "template":
        return connector.send_template(recipient, details["template"], reference)
    if details.get("buttons"):
        return connector.send_message(recipient, content, reference, buttons=details["buttons"])
    return connector.send_message(recipient, content, reference=reference)


def sync_integration(run: JobRun, project_id: str, integration_id: str) -> dict[str, Any]:
    """Sync an integration's orders, reporting progress per page. Not retried: a failed sync
    marks the integration in error and re-running it is safe (incremental, upserts)."""
    return services.sync_integration(
        run.session, services.system_context(project_id), uuid.UUID(integration_id), run.progress
    )


def answer_customer(run: JobRun, project_id: str, message_id: str) -> dict[str, Any]:
    """The customer bot: flag for a human and/or reply on the same channel, as configured."""
    ctx = services.system_context(project_id)
    with run.session() as session:
        outcome = bot.answer_customer(session, ctx, uuid.UUID(message_id))
    for reply in outcome.replies:
        with run.session() as session:
            services.queue_for_sending(session, session.merge(reply))
    if outcome.button_press:
        bot.acknowledge_button(run.session, ctx, uuid.UUID(message_id))
    return outcome.summary()


def sync_templates(run: JobRun, project_id: str, integration_id: str) -> dict[str, Any]:
    """Sync a WhatsApp integration's message templates, reporting progress per page. Not
    retried: re-running it is safe (upserts)."""
    return templates.sync(
        run.session, services.system_context(project_id), uuid.UUID(integration_id), run.progress
    )


def register_webhook(run: JobRun, project_id: str, integration_id: str) -> dict[str, Any]:
    """Register a Telegram integration's webhook and check it; the outcome is on the
    integration (a failure is not retried here: it is shown, and can be re-run)."""
    return webhook_setup.register(
        run.session, services.system_context(project_id), uuid.UUID(integration_id)
    )


def score_sentiment(run: JobRun, project_id: str | None = None) -> dict[str, Any]:
    """Score the sentiment of one project's (or every project's) unscored customer messages.
    Each batch is committed before progress is reported (SQLite would block the progress row
    behind an open transaction); a retry goes on with the messages still unscored."""
    with run.session() as session:

        def batch_done(done: int, total: int) -> None:
            session.commit()
            run.progress(done * 100 // total if total else 100, f"{done} of {total} messages")

        scored = sentiment.score_unscored(
            session, uuid.UUID(project_id) if project_id else None, batch_done
        )
    return {"scored": scored}
