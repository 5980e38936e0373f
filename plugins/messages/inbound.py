"""What a provider tells about conversations, applied: inbound messages of every type, their
edits, delivery statuses of our messages and a customer's number change.

Each function returns an :class:`EventOutcome`: the new message the bot may answer, or why
nothing was stored (the reason is recorded with the delivery, so a 200 never hides a loss).
Provider times are kept as the provider gave them (``sent_at``, ``delivered_at``, ``read_at``,
``edited_at``), never replaced by the time of arrival.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.context import Context
from core.db import scoped, utcnow
from core.errors import Conflict
from core.events import publish
from plugins.messages import links, sentiment
from plugins.messages.models import STATUS_RANK, Integration, Message

ANSWERABLE_TYPES = frozenset({"text", "button", "button_reply", "list_reply"})
"""What the customer bot answers: words and chosen options, not media, reactions or edits."""


@dataclass(frozen=True)
class EventOutcome:
    """A newly stored inbound ``message`` (for the bot), or the reason nothing was stored."""

    message: Message | None = None
    skipped: str | None = None


def message_payload(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "provider": message.provider,
        "direction": message.direction,
        "status": message.status,
        "customer_id": message.customer_id,
        "order_id": message.order_id,
        "ai_generated": message.ai_generated,
        "content": message.content,
        "content_type": message.content_type,
        "chat_id": message.chat_id,
        "sentiment": message.sentiment,
        "sentiment_score": message.sentiment_score,
    }


def provider_time(value: Any) -> datetime | None:
    """A provider's ISO 8601 time from a normalized event, or None."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def is_answerable(message: Message) -> bool:
    """The bot answers a customer's own words, in their own chat (never in a group)."""
    return (
        message.content_type in ANSWERABLE_TYPES
        and message.chat_id is None
        and bool(message.content.strip())
    )


def _stored(session: Session, ctx: Context, provider: str, provider_id: Any) -> Message | None:
    if not provider_id:
        return None
    return session.scalar(
        scoped(Message, ctx.project_id).where(
            Message.provider == provider, Message.provider_message_id == str(provider_id)
        )
    )


def record_inbound(
    session: Session, ctx: Context, integration: Integration, data: Mapping[str, Any]
) -> EventOutcome:
    """Store an inbound message once per provider id, linked to its sender's customer and
    their latest order. The original of a message first seen through its edit fills the
    history's missing first version; any other repeat is skipped with the reason."""
    existing = _stored(session, ctx, integration.provider, data["provider_message_id"])
    if existing is None:
        message = _new_message(session, ctx, integration, data)
        publish(session, "message.received", ctx.project_id, message_payload(message))
        return EventOutcome(message=message)
    history = list(existing.edit_history or [])
    if history and history[0].get("content") is None:
        history[0] = _version(data, data.get("sent_at"))
        existing.edit_history = history
        return EventOutcome()
    same = existing.content == data.get("content", "") or any(
        version.get("content") == data.get("content", "") for version in history
    )
    reason = f"message {data['provider_message_id']} is already stored"
    if not same:
        reason += (
            " with other content: provider message ids are unique, so the first one is kept"
            " (this delivery's raw body stays stored with it)"
        )
    return EventOutcome(skipped=reason)


def record_edit(
    session: Session, ctx: Context, integration: Integration, data: Mapping[str, Any]
) -> EventOutcome:
    """Apply an edit: the newest version is shown (and its sentiment scored), the others are
    kept in ``edit_history`` (oldest first). An edit already applied (same edit time) is
    skipped, an older one that arrives late joins the history, and the edit of a message never
    received is stored as the message with its first version marked unknown."""
    edited_at = provider_time(data.get("edited_at")) or utcnow()
    existing = _stored(session, ctx, integration.provider, data["provider_message_id"])
    if existing is None:
        message = _new_message(session, ctx, integration, data)
        message.edited_at = edited_at
        message.edit_history = [{"content": None, "at": data.get("sent_at"), "unknown": True}]
        publish(session, "message.received", ctx.project_id, message_payload(message))
        return EventOutcome()
    history = list(existing.edit_history or [])
    seen = {version.get("at") for version in history}
    if existing.edited_at is not None:
        seen.add(existing.edited_at.isoformat())
    if edited_at.isoformat() in seen:
        return EventOutcome(
            skipped=f"the edit of {data['provider_message_id']} at {edited_at.isoformat()} "
            "is already stored"
        )
    shown_since = existing.edited_at or existing.sent_at
    if shown_since is None or edited_at > shown_since:
        history.append(
            {
                "content": existing.content,
                "content_type": existing.content_type,
                "media": existing.media,
                "at": shown_since.isoformat() if shown_since else None,
            }
        )
        existing.content = str(data.get("content") or "")
        existing.content_type = data.get("message_type") or existing.content_type
        existing.media = data.get("media") or existing.media
        existing.edited_at = edited_at
        existing.is_read = False
        sentiment.score_message(existing)
    else:
        history.append(_version(data, edited_at.isoformat()))
        history.sort(key=lambda version: version.get("at") or "")
    existing.edit_history = history
    publish(session, "message.edited", ctx.project_id, message_payload(existing))
    return EventOutcome()


def _version(data: Mapping[str, Any], at: Any) -> dict[str, Any]:
    return {
        "content": str(data.get("content") or ""),
        "content_type": data.get("message_type") or "text",
        "media": data.get("media"),
        "at": at,
    }


def _new_message(
    session: Session, ctx: Context, integration: Integration, data: Mapping[str, Any]
) -> Message:
    sender = {k: v for k, v in data["sender"].items() if v is not None}
    customer = links.customer_for_sender(session, ctx, integration.provider, sender)
    session.flush()
    conversation = data.get("conversation") or {}
    replied_to = _stored(session, ctx, integration.provider, data.get("in_reply_to"))
    message = Message(
        project_id=ctx.project_id,
        integration_id=integration.id,
        provider=integration.provider,
        direction="inbound",
        status="received",
        content=str(data.get("content") or ""),
        content_type=data.get("message_type") or "text",
        media=data.get("media"),
        reply_option=data.get("reply_option"),
        in_reply_to=str(data["in_reply_to"])[:200] if data.get("in_reply_to") else None,
        reply_to_id=replied_to.id if replied_to else None,
        details=data.get("details"),
        chat_id=str(conversation["id"])[:64] if conversation.get("id") else None,
        chat_title=str(conversation.get("title") or "")[:255] or None,
        sender=sender,
        customer_id=customer.id if customer else None,
        order_id=links.latest_order_id(session, ctx, customer.id) if customer else None,
        provider_message_id=data["provider_message_id"],
        sent_at=provider_time(data.get("sent_at")),
        edit_history=[],
    )
    sentiment.score_message(message)
    session.add(message)
    session.flush()
    return message


def apply_delivery_status(
    session: Session, ctx: Context, integration: Integration, data: Mapping[str, Any]
) -> EventOutcome:
    """Move an outbound message forward (sent < delivered < read) or fail it; never backwards,
    dated by the provider's time. A callback that names our message (``reference``) but whose
    provider id we never recorded (the sending worker died after the provider accepted)
    reconciles that message first."""
    message = _stored(
        session, ctx, integration.provider, data["provider_message_id"]
    ) or _unconfirmed_message(session, ctx, integration, data.get("reference"))
    if message is None or message.direction != "outbound":
        return EventOutcome(
            skipped=f"status {data['status']} of message {data['provider_message_id']}, "
            "which Nebulo did not send"
        )
    at = provider_time(data.get("at")) or utcnow()
    if message.provider_message_id is None:
        message.provider_message_id = data["provider_message_id"]
        message.status, message.error = "sent", None
        message.sent_at = message.sent_at or at
    status = data["status"]
    if status == "failed":
        message.status, message.error = (
            "failed",
            data.get("error") or "The provider reported a failure",
        )
        return EventOutcome()
    if message.status == "failed" or STATUS_RANK[status] <= STATUS_RANK.get(message.status, 0):
        return EventOutcome(
            skipped=f"status {status} arrived after {message.status}: a message never moves back"
        )
    message.status = status
    if status == "delivered":
        message.delivered_at = at
    if status == "read":
        message.delivered_at = message.delivered_at or at
        message.read_at = at
    return EventOutcome()


def _unconfirmed_message(
    session: Session, ctx: Context, integration: Integration, reference: str | None
) -> Message | None:
    """Our outbound message named by a callback's reference, if the provider id is missing."""
    try:
        message_id = uuid.UUID(str(reference))
    except ValueError:
        return None
    return session.scalar(
        scoped(Message, ctx.project_id).where(
            Message.id == message_id,
            Message.provider == integration.provider,
            Message.provider_message_id.is_(None),
        )
    )


def apply_sender_change(
    session: Session, ctx: Context, integration: Integration, data: Mapping[str, Any]
) -> EventOutcome:
    """A customer's new number: their customer (and so their conversation) moves to it."""
    old, new = data["old"], data["new"]
    try:
        customer = links.change_channel_identity(session, ctx, integration.provider, old, new)
    except Conflict as error:
        return EventOutcome(skipped=f"number change not applied: {error}")
    if customer is None:
        return EventOutcome(skipped=f"number change of {old}, a sender Nebulo does not know")
    publish(
        session,
        "customer.contact_changed",
        ctx.project_id,
        {"customer_id": customer.id, "provider": integration.provider, "old": old, "new": new},
    )
    return EventOutcome()
