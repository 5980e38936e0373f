"""Request and response schemas of integrations, webhooks and messages."""

from __future__ import annotations

from marshmallow import fields, validate

from connectors.base import MESSAGE_TYPES
from core.schemas import PageArgs, StrictSchema
from plugins.messages.bot_settings import BotSettingsSchema
from plugins.messages.models import (
    CONVERSATION_STATUSES,
    DELIVERY_STATES,
    HANDOFF_REASONS,
    HUMAN_HANDOFF,
    OUTBOUND_STATUSES,
    SENTIMENT_LABELS,
    TEMPLATE_STATUSES,
)

TYPES = ", ".join(MESSAGE_TYPES)


class ConnectSchema(StrictSchema):
    provider = fields.String(required=True, validate=validate.Length(min=1, max=32))
    config = fields.Dict(keys=fields.String(), required=True)
    auto_reply = fields.Boolean(load_default=False)
    human_handoff = fields.String(load_default="instead", validate=validate.OneOf(HUMAN_HANDOFF))
    bot = fields.Nested(BotSettingsSchema, load_default=dict)


class IntegrationUpdateSchema(StrictSchema):
    auto_reply = fields.Boolean()
    human_handoff = fields.String(validate=validate.OneOf(HUMAN_HANDOFF))
    bot = fields.Nested(
        BotSettingsSchema, metadata={"description": "Only the settings given change"}
    )


class WebhookStateSchema(StrictSchema):
    status = fields.String(
        metadata={"description": "pending, registered, failed or not_registered"}
    )
    url = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    checked_at = fields.String(allow_none=True)
    pending_update_count = fields.Integer(allow_none=True)


class IntegrationSchema(StrictSchema):
    id = fields.UUID()
    project_id = fields.UUID()
    provider = fields.String()
    status = fields.String()
    config = fields.Dict(metadata={"description": "Secret fields masked as 'your...key'"})
    auto_reply = fields.Boolean()
    human_handoff = fields.String()
    bot = fields.Nested(
        BotSettingsSchema, metadata={"description": "The bot's settings, defaults filled in"}
    )
    webhook = fields.Nested(
        WebhookStateSchema,
        allow_none=True,
        metadata={"description": "The provider webhook's registration (Telegram), if any"},
    )
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
    sentiment_score = fields.Float(
        allow_none=True,
        metadata={"description": "A received message's sentiment, -1 (negative) to 1 (positive)"},
    )
    sentiment = fields.String(
        allow_none=True, metadata={"description": "One of " + ", ".join(SENTIMENT_LABELS)}
    )
    error = fields.String(allow_none=True)
    job_id = fields.UUID(allow_none=True)
    conversation_id = fields.UUID(allow_none=True)
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
    sentiment = fields.String(validate=validate.OneOf(SENTIMENT_LABELS))
    waiting_for_human = fields.Boolean(
        metadata={"description": "Only messages of conversations waiting for a person (or not)"}
    )
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


class TemplateListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(TEMPLATE_STATUSES))


class TemplateVariableSchema(StrictSchema):
    component = fields.String(metadata={"description": "header, body or button"})
    name = fields.String(metadata={"description": "1, 2... or the named parameter"})
    type = fields.String(metadata={"description": "text, image, video or document (a link)"})
    index = fields.Integer(metadata={"description": "The button's position"})
    sub_type = fields.String()


class TemplateSchema(StrictSchema):
    id = fields.UUID()
    integration_id = fields.UUID()
    provider_template_id = fields.String()
    name = fields.String()
    language = fields.String()
    category = fields.String()
    status = fields.String(metadata={"description": ", ".join(TEMPLATE_STATUSES)})
    rejected_reason = fields.String(allow_none=True)
    components = fields.List(fields.Dict())
    variables = fields.List(
        fields.Nested(TemplateVariableSchema),
        metadata={"description": "What a send fills, in this order"},
    )
    synced_at = fields.DateTime()


class SendTemplateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=512))
    language = fields.String(
        validate=validate.Length(min=2, max=16),
        metadata={"description": "Needed when the template exists in several languages"},
    )
    variables = fields.List(
        fields.Raw(),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={
            "description": "One string per template variable, in the template's order "
            "(GET .../templates shows it); media headers take an https link"
        },
    )
    recipient = fields.Nested(RecipientSchema, load_default=dict)
    order_id = fields.UUID()
    customer_id = fields.UUID()
    integration_id = fields.UUID()


class ChannelConversationArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(CONVERSATION_STATUSES))
    integration_id = fields.UUID()
    customer_id = fields.UUID()
    handoff_reason = fields.String(validate=validate.OneOf(HANDOFF_REASONS))


class ChannelConversationSchema(StrictSchema):
    id = fields.UUID()
    integration_id = fields.UUID()
    provider = fields.String()
    contact = fields.String(metadata={"description": "Phone digits or Telegram chat id"})
    customer_id = fields.UUID(allow_none=True)
    status = fields.String(metadata={"description": ", ".join(CONVERSATION_STATUSES)})
    opened_at = fields.DateTime()
    last_inbound_at = fields.DateTime(allow_none=True)
    window_open = fields.Boolean(
        metadata={"description": "WhatsApp: free text can be sent (customer wrote < 24 h ago)"}
    )
    closed_at = fields.DateTime(allow_none=True)
    handed_off_at = fields.DateTime(allow_none=True)
    handoff_reason = fields.String(
        allow_none=True, metadata={"description": ", ".join(HANDOFF_REASONS)}
    )
    handoff_note = fields.String(allow_none=True)
    handoff_count = fields.Integer()
    first_response_at = fields.DateTime(allow_none=True)
    first_responder = fields.String(allow_none=True, metadata={"description": "bot or human"})
    bot_replies = fields.Integer()
    human_replies = fields.Integer()
    reopened_from_id = fields.UUID(allow_none=True)
