"""Routes of templates, conversations (handoffs) and webhook registration: thin views over
``templates``, ``conversations`` and ``webhook_setup``, on the messages plugin's blueprints."""

from __future__ import annotations

from uuid import UUID

from flask.views import MethodView

from core.context import project_context
from core.db import get_session
from core.pagination import paginate
from plugins.messages import conversations, services, templates, webhook_setup
from plugins.messages.models import ChannelConversation, Integration
from plugins.messages.routes import integration_view, integrations_blp, messages_blp
from plugins.messages.schemas import (
    ChannelConversationArgs,
    ChannelConversationSchema,
    ChannelMessageSchema,
    IntegrationSchema,
    SendTemplateSchema,
    SyncQueuedSchema,
    TemplateListArgs,
    TemplateSchema,
)


def conversation_view(session, conversation: ChannelConversation) -> dict:
    integration = session.get(Integration, conversation.integration_id)
    view = {
        column.name: getattr(conversation, column.name)
        for column in ChannelConversation.__table__.columns
        if column.name in ChannelConversationSchema().fields
    }
    view["window_open"] = conversation.provider != "whatsapp" or (
        integration is not None
        and conversations.window_open(session, integration, conversation.contact)
    )
    return view


@integrations_blp.route("/<uuid:project_id>/<uuid:integration_id>/templates")
class Templates(MethodView):
    @integrations_blp.arguments(TemplateListArgs, location="query")
    @integrations_blp.response(200, TemplateSchema(many=True))
    def get(self, args, project_id: UUID, integration_id: UUID):
        """A WhatsApp integration's message templates as last synced, with their variables."""
        ctx = project_context(project_id, "view_integrations")
        session = get_session()
        statement = templates.list_templates(session, ctx, integration_id, args.get("status"))
        return paginate(session, statement, args)


@integrations_blp.route("/<uuid:project_id>/<uuid:integration_id>/templates/sync")
class TemplateSync(MethodView):
    @integrations_blp.response(202, SyncQueuedSchema)
    def post(self, project_id: UUID, integration_id: UUID):
        """Queue the sync of the WhatsApp Business Account's templates (needs the
        integration's business_account_id); follow it at GET /api/v1/jobs/{job_id}."""
        ctx = project_context(project_id, "manage_integrations")
        job_id = templates.start_sync(get_session(), ctx, integration_id)
        return {"status": "queued", "message": "Template sync queued", "job_id": job_id}


@integrations_blp.route("/<uuid:project_id>/<uuid:integration_id>/webhook")
class WebhookRegistration(MethodView):
    @integrations_blp.response(202, IntegrationSchema)
    def post(self, project_id: UUID, integration_id: UUID):
        """Register the Telegram bot's webhook again (setWebhook with the secret token) and
        check it with getWebhookInfo; the outcome appears in the integration's ``webhook``."""
        ctx = project_context(project_id, "manage_integrations")
        session = get_session()
        webhook_setup.start(session, ctx, integration_id)
        session.commit()
        return integration_view(services.get_integration(session, ctx, integration_id))


@messages_blp.route("/<uuid:project_id>/send-template")
class SendTemplate(MethodView):
    @messages_blp.arguments(SendTemplateSchema)
    @messages_blp.response(202, ChannelMessageSchema)
    def post(self, data, project_id: UUID):
        """Queue a WhatsApp template message with its variables filled (checked against the
        template: count and types); allowed outside the 24-hour window. Only APPROVED
        templates are sent (409 otherwise)."""
        ctx = project_context(project_id, "send_messages")
        session = get_session()
        message = templates.send_template(session, ctx, **data)
        services.queue_for_sending(session, message)
        return message


@messages_blp.route("/<uuid:project_id>/conversations")
class Conversations(MethodView):
    @messages_blp.arguments(ChannelConversationArgs, location="query")
    @messages_blp.response(200, ChannelConversationSchema(many=True))
    def get(self, args, project_id: UUID):
        """Customer conversations newest first; ``status=waiting_human`` is the queue of
        conversations handed to a person, where the bot stays silent."""
        ctx = project_context(project_id, "view_messages")
        session = get_session()
        statement = conversations.list_conversations(ctx, args)
        return [conversation_view(session, c) for c in paginate(session, statement, args)]


def _act(project_id: UUID, conversation_id: UUID, action) -> dict:
    ctx = project_context(project_id, "send_messages")
    session = get_session()
    conversation = action(session, ctx, conversation_id)
    session.commit()
    return conversation_view(session, conversation)


@messages_blp.route("/<uuid:project_id>/conversations/<uuid:conversation_id>/close")
class CloseConversation(MethodView):
    @messages_blp.response(200, ChannelConversationSchema)
    def post(self, project_id: UUID, conversation_id: UUID):
        """Close the conversation; the customer's next message opens a new one (counted as
        reopened when it comes within 7 days)."""
        return _act(project_id, conversation_id, conversations.close)


@messages_blp.route("/<uuid:project_id>/conversations/<uuid:conversation_id>/hand-back")
class HandBack(MethodView):
    @messages_blp.response(200, ChannelConversationSchema)
    def post(self, project_id: UUID, conversation_id: UUID):
        """Give a conversation waiting for a person back to the bot."""
        return _act(project_id, conversation_id, conversations.hand_back)


@messages_blp.route("/<uuid:project_id>/conversations/<uuid:conversation_id>/take-over")
class TakeOver(MethodView):
    @messages_blp.response(200, ChannelConversationSchema)
    def post(self, project_id: UUID, conversation_id: UUID):
        """An operator takes the conversation: the bot stays silent in it until it is
        handed back or closed."""
        return _act(project_id, conversation_id, conversations.take_over)
