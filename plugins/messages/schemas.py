"""Request and response schemas of integrations, webhooks and messages."""

from __future__ import annotations

from marshmallow import fields, validate

from connectors.base import MESSAGE_TYPES
from core.schemas import PageArgs, StrictSchema
from plugins.messages.models import DELIVERY_STATES, HUMAN_HANDOFF, OUTBOUND_STATUSES

TYPES = ", ".join(MESSAGE_TYPES)


class ConnectSchema(StrictSchema):
    provider = fields.String(required=True, validate=validate.Length(min=1, max=32))
    config = fields.Dict(keys=fields.String(), required=True)
    auto_reply = fields.Boolean(load_default=False)
    human_handoff = fields.String(load_default="instead", validate=validate.OneOf(HUMAN_HANDOFF))


class IntegrationUpdateSchema(StrictSchema):
    auto_reply = fields.Boolean()
    human_handoff = fields.String(validate=validate.OneOf(HUMAN_HANDOFF))


class IntegrationSchema(StrictSchema):
    id = fields.UUID()
    project_id = fields.UUID()
    provider = fields.String()
    status = fields.String()
    config = fields.Dict(metadata={"description": "Secret fields masked as 'your...key'"})
    auto_reply = fields.Boolean()
    human_handoff = fields.String()
    webhook_path = fields.String()
    last_sync = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()


class IntegrationListArgs(PageArgs):
    provider = fields.String()


class SyncQueuedSchema(StrictSchema):
    status = fields.String()
    message = fields.String()
    job_id = fields.UUID()


class DeliveryArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATES))


class InboundDeliverySchema(StrictSchema):
    id = fields.UUID()
    delivery_id = fields.String()
    topic = fields.String()
    status = fields.String()
    error = fields.String(allow_none=True)
    skip_reasons = fields.List(
        fields.String(), metadata={"description": "Why its events stored nothing, if they did"}
    )
    received_at = fields.DateTime()
    processed_at = fields.DateTime(allow_none=True)


class WebhookAnswerSchema(StrictSchema):
    status = fields.String(metadata={"description": "accepted, duplicate or skipped"})
    delivery_id = fields.String()
    reasons = fields.List(fields.String(), metadata={"description": "Why it was skipped"})


class RecipientSchema(StrictSchema):
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 ]{6,24}$"))
    name = fields.String(validate=validate.Length(max=200))
    chat_id = fields.String(validate=validate.Length(min=1, max=64))


class SendSchema(StrictSchema):
    recipient = fields.Nested(RecipientSchema, load_default=dict)
    content = fields.String(required=True, validate=validate.Length(min=1, max=4096))
    provider = fields.String(required=True, validate=validate.Length(min=1, max=32))
    content_type = fields.String(load_default="text", validate=validate.OneOf(("text",)))
    order_id = fields.UUID()
    customer_id = fields.UUID()
    integration_id = fields.UUID()


class ChannelMessageSchema(StrictSchema):
    id = fields.UUID()
    project_id = fields.UUID()
    integration_id = fields.UUID(allow_none=True)
    order_id = fields.UUID(allow_none=True)
    customer_id = fields.UUID(allow_none=True)
    reply_to_id = fields.UUID(allow_none=True)
    direction = fields.String()
    provider = fields.String()
    status = fields.String(
        metadata={"description": "received (inbound) or " + ", ".join(OUTBOUND_STATUSES)}
    )
    content = fields.String(
        metadata={"description": "The text, a media's caption, an option's title, an emoji"}
    )
    content_type = fields.String(metadata={"description": "The message type: " + TYPES})
    media = fields.Dict(
        allow_none=True,
        metadata={"description": "{id, mime_type, sha256, file_name, file_size}: see /media"},
    )
    reply_option = fields.Dict(
        allow_none=True, metadata={"description": "The chosen button or list row: {id, title}"}
    )
    in_reply_to = fields.String(
        allow_none=True, metadata={"description": "Provider id of the message answered"}
    )
    details = fields.Dict(allow_none=True)
    chat_id = fields.String(allow_none=True, metadata={"description": "The group chat, if any"})
    chat_title = fields.String(allow_none=True)
    edited_at = fields.DateTime(allow_none=True)
    edit_history = fields.List(
        fields.Dict(), metadata={"description": "Previous versions, oldest first"}
    )
    sender = fields.Dict()
    recipient = fields.Dict()
    provider_message_id = fields.String(allow_none=True)
    is_read = fields.Boolean()
    ai_generated = fields.Boolean()
    needs_human = fields.Boolean()
    flag_reason = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    job_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    read_at = fields.DateTime(allow_none=True)


class InboxArgs(PageArgs):
    direction = fields.String(validate=validate.OneOf(("inbound", "outbound")))
    provider = fields.String(validate=validate.Length(max=32))
    order_id = fields.UUID()
    customer_id = fields.UUID()
    is_read = fields.Boolean()
    needs_human = fields.Boolean()
    ai_generated = fields.Boolean()
    days = fields.Integer(validate=validate.Range(min=1, max=3650))


class StatsArgs(StrictSchema):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=3650))


class StatsSchema(StrictSchema):
    period_days = fields.Integer()
    total_messages = fields.Integer()
    inbound = fields.Integer()
    outbound = fields.Integer()
    unread = fields.Integer()
    ai_generated = fields.Integer()
    needs_human = fields.Integer()
    failed = fields.Integer()
    by_provider = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
