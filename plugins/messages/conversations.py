"""Customer conversations on a channel: the WhatsApp 24-hour window, handoffs to a person
and what the bot's outcome metrics count.

A conversation is one customer's exchange on one integration, from the message that opens it
until an operator closes it; the customer's next message opens a new one, marked as reopened
when the previous closed less than 7 days before. While it is ``waiting_human`` the bot stays
silent in it; an operator closes it or hands it back to the bot.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.context import Context
from core.db import get_scoped, scoped, utcnow
from core.errors import Conflict
from plugins.messages.models import ChannelConversation, Integration, Message, MessageTemplate

WINDOW = timedelta(hours=24)
"""WhatsApp accepts free text only this long after the customer last wrote."""
REOPEN_WITHIN = timedelta(days=7)
HANDOFF_LABELS = {
    "asked_for_human": "the customer asked for a person",
    "no_tool_answer": "no tool could answer",
    "out_of_window": "the WhatsApp 24-hour window had closed",
    "policy_refusal": "the assistant refused by policy",
    "sentiment": "a negative or urgent message",
    "operator": "an operator took it over",
}


def contact_of(provider: str, address: Mapping[str, Any]) -> str | None:
    """The customer's address on the channel: a Telegram chat, or a phone's digits."""
    if provider == "telegram":
        return str(address.get("chat_id") or "") or None
    digits = re.sub(r"\D", "", str(address.get("phone") or ""))
    return digits or None


def _latest(session: Session, integration_id: uuid.UUID, contact: str, *, open_only: bool):
    statement = select(ChannelConversation).where(
        ChannelConversation.integration_id == integration_id,
        ChannelConversation.contact == contact,
    )
    if open_only:
        statement = statement.where(ChannelConversation.status != "closed")
    return session.scalar(
        statement.order_by(ChannelConversation.opened_at.desc(), ChannelConversation.id).limit(1)
    )


def track_inbound(
    session: Session, integration: Integration, message: Message
) -> ChannelConversation | None:
    """File a customer's private message in their open conversation (opening one if none);
    group chats have no conversation of their own."""
    contact = contact_of(integration.provider, message.sender)
    if message.chat_id is not None or contact is None:
        return None
    now = utcnow()
    at = min(message.sent_at, now) if message.sent_at else now
    conversation = _latest(session, integration.id, contact, open_only=True)
    if conversation is None:
        previous = _latest(session, integration.id, contact, open_only=False)
        reopened = (
            previous is not None
            and previous.closed_at is not None
            and at - previous.closed_at <= REOPEN_WITHIN
        )
        conversation = ChannelConversation(
            id=uuid.uuid4(),
            project_id=integration.project_id,
            integration_id=integration.id,
            provider=integration.provider,
            contact=contact,
            status="open",
            opened_at=at,
            handoff_count=0,
            bot_replies=0,
            human_replies=0,
            reopened_from_id=previous.id if reopened else None,
        )
        session.add(conversation)
    if conversation.last_inbound_at is None or at > conversation.last_inbound_at:
        conversation.last_inbound_at = at
    conversation.customer_id = conversation.customer_id or message.customer_id
    session.flush()
    message.conversation_id = conversation.id
    return conversation


def last_customer_message(
    session: Session, integration_id: uuid.UUID, contact: str
) -> datetime | None:
    return session.scalar(
        select(func.max(ChannelConversation.last_inbound_at)).where(
            ChannelConversation.integration_id == integration_id,
            ChannelConversation.contact == contact,
        )
    )


def window_open(session: Session, integration: Integration, contact: str | None) -> bool:
    """True when the customer wrote to this WhatsApp number less than 24 hours ago."""
    if contact is None:
        return False
    last = last_customer_message(session, integration.id, contact)
    return last is not None and utcnow() - last < WINDOW


def require_window(session: Session, integration: Integration, target: Mapping[str, Any]) -> None:
    """Refuse WhatsApp free text outside the window (409) before anything reaches Meta, with
    the approved templates that can be sent instead."""
    if integration.provider != "whatsapp":
        return
    if window_open(session, integration, contact_of("whatsapp", target)):
        return
    approved = session.scalars(
        select(MessageTemplate)
        .where(
            MessageTemplate.integration_id == integration.id,
            MessageTemplate.status == "APPROVED",
        )
        .order_by(MessageTemplate.name, MessageTemplate.language)
    ).all()
    names = [f"{t.name} ({t.language})" for t in approved]
    listed = ", ".join(names) if names else "none synced yet (POST .../templates/sync)"
    raise Conflict(
        "The customer has not written in the last 24 hours: WhatsApp accepts only an approved "
        f"template now (POST /messages/{{project_id}}/send-template). Approved: {listed}",
        errors={"approved_templates": names},
    )


def record_reply(
    session: Session, integration: Integration, message: Message, at: datetime | None = None
) -> None:
    """Count an outbound message in the customer's open conversation: by the bot or a person,
    and the first response's time (``at``, now unless given)."""
    contact = contact_of(integration.provider, message.recipient)
    conversation = _latest(session, integration.id, contact, open_only=True) if contact else None
    if conversation is None:
        return
    message.conversation_id = conversation.id
    if message.ai_generated:
        conversation.bot_replies += 1
    else:
        conversation.human_replies += 1
    if conversation.first_response_at is None:
        conversation.first_response_at = at or utcnow()
        conversation.first_responder = "bot" if message.ai_generated else "human"


def hand_off(conversation: ChannelConversation, reason: str, note: str | None = None) -> bool:
    """Mark the conversation as waiting for a person; False when it already was. The first
    reason is kept for the metrics; each handoff is counted."""
    if conversation.status == "waiting_human":
        return False
    conversation.status = "waiting_human"
    conversation.handed_off_at = conversation.handed_off_at or utcnow()
    conversation.handoff_reason = conversation.handoff_reason or reason
    conversation.handoff_note = (note or HANDOFF_LABELS.get(reason, reason))[:500]
    conversation.handoff_count += 1
    return True


def get_conversation(
    session: Session, ctx: Context, conversation_id: uuid.UUID
) -> ChannelConversation:
    ctx.require("view_messages")
    return get_scoped(
        session, ChannelConversation, ctx.project_id, conversation_id, what="Conversation"
    )


def list_conversations(ctx: Context, filters: Mapping[str, Any]) -> Select:
    """Newest first; ``status`` waiting_human is the queue of people to answer."""
    ctx.require("view_messages")
    statement = scoped(ChannelConversation, ctx.project_id)
    for name in ("status", "integration_id", "customer_id", "handoff_reason"):
        if filters.get(name) is not None:
            statement = statement.where(getattr(ChannelConversation, name) == filters[name])
    return statement.order_by(ChannelConversation.opened_at.desc(), ChannelConversation.id)


def take_over(session: Session, ctx: Context, conversation_id: uuid.UUID) -> ChannelConversation:
    """An operator takes the conversation: the bot stops answering in it."""
    ctx.require("send_messages")
    conversation = get_conversation(session, ctx, conversation_id)
    if conversation.status == "closed":
        raise Conflict("The conversation is closed; the customer's next message opens a new one")
    hand_off(conversation, "operator")
    session.flush()
    return conversation


def hand_back(session: Session, ctx: Context, conversation_id: uuid.UUID) -> ChannelConversation:
    """Give a conversation waiting for a person back to the bot."""
    ctx.require("send_messages")
    conversation = get_conversation(session, ctx, conversation_id)
    if conversation.status != "waiting_human":
        raise Conflict(f"The conversation is {conversation.status}, not waiting for a person")
    conversation.status = "open"
    session.flush()
    return conversation


def close(session: Session, ctx: Context, conversation_id: uuid.UUID) -> ChannelConversation:
    """Close a conversation; the customer's next message opens a new one."""
    ctx.require("send_messages")
    conversation = get_conversation(session, ctx, conversation_id)
    if conversation.status == "closed":
        raise Conflict("The conversation is already closed")
    conversation.status, conversation.closed_at = "closed", utcnow()
    session.flush()
    return conversation
