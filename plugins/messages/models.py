"""Integrations (a connected channel), the raw webhook deliveries they receive, and messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import sentiment
from core.db import Base, IdMixin, ProjectScoped, TimestampMixin, utcnow

INTEGRATION_STATUSES = ("connected", "error")
HUMAN_HANDOFF = ("instead", "also")
"""A negative or urgent inbound message is flagged for a human instead of, or as well as,
the bot's answer."""
OUTBOUND_STATUSES = ("queued", "sending", "sent", "delivered", "read", "failed")
STATUS_RANK = {"queued": 0, "sending": 0, "sent": 1, "delivered": 2, "read": 3}
SENTIMENT_LABELS = sentiment.LABELS
"""A customer message's sentiment label, as :mod:`core.sentiment` scores it."""
DELIVERY_STATES = ("received", "processed", "skipped", "failed")
"""``skipped``: answered 200 but nothing to store; ``skip_reasons`` says why."""


class Integration(IdMixin, ProjectScoped, TimestampMixin, Base):
    """A project's connection to a provider. Secret config fields are stored encrypted."""

    __tablename__ = "integrations"

    provider: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="connected")
    public_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    encrypted_secrets: Mapped[bytes] = mapped_column(LargeBinary)
    auto_reply: Mapped[bool] = mapped_column(default=False)
    human_handoff: Mapped[str] = mapped_column(String(16), default="instead")
    last_sync: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    processing_job_id: Mapped[uuid.UUID | None]
    """The job that will process this integration's received deliveries, while one is queued
    or running and has not yet started draining; see ``services.schedule_processing``."""
    bot_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The customer bot's controls (``bot_settings.BotSettingsSchema``): business hours,
    out-of-hours reply, handoff keywords and button, handoff on/off, bot hours."""
    webhook_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Where the provider was told to deliver (Telegram's setWebhook): {status, url, error,
    checked_at, pending_update_count}; ``status`` is registered, failed or not_registered."""


class InboundDelivery(IdMixin, ProjectScoped, Base):
    """A verified webhook delivery, stored raw before it is processed; one per provider id."""

    __tablename__ = "inbound_deliveries"
    __table_args__ = (UniqueConstraint("integration_id", "delivery_id"),)

    integration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(100), default="")
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    skip_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Why each of its events that stored nothing was skipped (a status for a message Nebulo
    never sent, an inline query, a repeated message)."""
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class Message(IdMixin, ProjectScoped, Base):
    """One message in or out of a channel. Outbound ones move queued -> sending -> sent ->
    delivered -> read or end failed with the provider's error; ``provider_message_id`` is set
    once the provider accepted the message, and a message that has one is never sent again.
    ``sending`` is committed just before the provider call, so a worker that dies during the
    call leaves a mark that stops a retry from sending the message twice."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("project_id", "provider", "provider_message_id"),
        Index("ix_messages_project_id_created_at", "project_id", "created_at"),
        Index("ix_messages_project_id_chat_id", "project_id", "chat_id"),
    )

    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL"), index=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(16), default="text")
    """The message type (``connectors.base.MESSAGE_TYPES``); ``content`` is its text, or a
    media's caption, a chosen option's title, a reaction's emoji."""
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The provider's reference to an attachment ({id, mime_type, sha256, file_name,
    file_size}); the bytes are fetched on demand (``media.fetch_message_media``)."""
    reply_option: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    in_reply_to: Mapped[str | None] = mapped_column(String(200))
    """The provider id of the message this one answers or reacts to (``reply_to_id`` is that
    message's row, when Nebulo has it)."""
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    chat_id: Mapped[str | None] = mapped_column(String(64))
    """The provider's chat when it is not the customer's own: a Telegram group."""
    chat_title: Mapped[str | None] = mapped_column(String(255))
    edited_at: Mapped[datetime | None]
    edit_history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Previous versions, oldest first: [{content, content_type, media, at}] where ``at`` is
    when that version was written (sent or edited)."""
    sender: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recipient: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    reply_to_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    is_read: Mapped[bool] = mapped_column(default=False)
    ai_generated: Mapped[bool] = mapped_column(default=False)
    needs_human: Mapped[bool] = mapped_column(default=False)
    flag_reason: Mapped[str | None] = mapped_column(String(500))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    """An inbound message's compound sentiment from -1 to 1; empty for outbound messages and
    for messages without text (see ``plugins.messages.sentiment``)."""
    sentiment: Mapped[str | None] = mapped_column(String(8))
    """The score's label: one of :data:`SENTIMENT_LABELS`."""
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[uuid.UUID | None]
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("channel_conversations.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]


CONVERSATION_STATUSES = ("open", "waiting_human", "closed")
HANDOFF_REASONS = (
    "asked_for_human",
    "no_tool_answer",
    "out_of_window",
    "policy_refusal",
    "sentiment",
    "operator",
)
"""Why a conversation went to a person: the customer asked (keyword or button), no tool could
answer, the WhatsApp window had closed before the bot could answer, the assistant refused by
policy, a negative or urgent message, or an operator took it."""


class ChannelConversation(IdMixin, ProjectScoped, Base):
    """One customer's conversation on one integration, from their first message until an
    operator closes it; their next message opens a new one (``reopened_from_id`` when the
    last one closed less than 7 days before). While ``waiting_human`` the bot stays silent."""

    __tablename__ = "channel_conversations"
    __table_args__ = (
        Index("ix_channel_conversations_contact", "integration_id", "contact", "status"),
        Index("ix_channel_conversations_project_opened", "project_id", "opened_at"),
    )

    integration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    provider: Mapped[str] = mapped_column(String(32))
    contact: Mapped[str] = mapped_column(String(64))
    """The customer's address on the channel: a WhatsApp number (digits) or a Telegram chat."""
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_inbound_at: Mapped[datetime | None]
    """When the customer last wrote (the provider's time): WhatsApp's 24-hour window."""
    closed_at: Mapped[datetime | None]
    handed_off_at: Mapped[datetime | None]
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    handoff_note: Mapped[str | None] = mapped_column(String(500))
    handoff_count: Mapped[int] = mapped_column(default=0)
    first_response_at: Mapped[datetime | None]
    first_responder: Mapped[str | None] = mapped_column(String(8))
    """``bot`` or ``human``: who answered the customer first."""
    bot_replies: Mapped[int] = mapped_column(default=0)
    human_replies: Mapped[int] = mapped_column(default=0)
    out_of_hours_replied_at: Mapped[datetime | None]
    reopened_from_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("channel_conversations.id", ondelete="SET NULL")
    )


TEMPLATE_STATUSES = (
    "APPROVED",
    "PENDING",
    "REJECTED",
    "PAUSED",
    "DISABLED",
    "IN_APPEAL",
    "PENDING_DELETION",
    "DELETED",
    "LIMIT_EXCEEDED",
)


class MessageTemplate(IdMixin, ProjectScoped, Base):
    """A WhatsApp message template as Meta last reported it, with the variables it takes."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("integration_id", "name", "language"),)

    integration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    provider_template_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    rejected_reason: Mapped[str | None] = mapped_column(String(200))
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    variables: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """What a send must fill: [{component (header, body or button), index (a button's),
    name ("1" or a named parameter), type (text, image, video, document)}], in order."""
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
