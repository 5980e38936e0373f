"""/api/v1/integrations, /api/v1/webhooks and /api/v1/messages: thin views over services."""

from __future__ import annotations

from uuid import UUID

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from core.context import project_context
from core.db import get_session
from core.http import accepts, any_query_parameters
from core.limits import rate_limit
from core.pagination import paginate
from plugins.messages import bot_settings, media, services, webhook_setup
from plugins.messages.schemas import (
    ChannelMessageSchema,
    ConnectSchema,
    DeliveryArgs,
    InboundDeliverySchema,
    InboxArgs,
    IntegrationListArgs,
    IntegrationSchema,
    IntegrationUpdateSchema,
    SendSchema,
    StatsArgs,
    StatsSchema,
    SyncQueuedSchema,
    WebhookAnswerSchema,
)

integrations_blp = Blueprint(
    "integrations", __name__, url_prefix="/integrations", description="Connected channels"
)
webhooks_blp = Blueprint(
    "webhooks_inbound",
    __name__,
    url_prefix="/webhooks",
    description="Provider webhooks (public, signed)",
)
messages_blp = Blueprint(
    "messages", __name__, url_prefix="/messages", description="Inbox and sending"
)
PUBLIC = {"security": []}


def integration_view(integration) -> dict:
    return {
        "id": integration.id,
        "project_id": integration.project_id,
        "provider": integration.provider,
        "status": integration.status,
        "config": services.masked_config(integration),
        "auto_reply": integration.auto_reply,
        "human_handoff": integration.human_handoff,
        "bot": bot_settings.effective(integration.bot_settings),
        "webhook": integration.webhook_state or None,
        "webhook_path": f"/api/v1/webhooks/{integration.provider}/{integration.id}",
        "last_sync": integration.last_sync,
        "last_error": integration.last_error,
        "created_at": integration.created_at,
    }


@integrations_blp.route("/<uuid:project_id>/connect")
class Connect(MethodView):
    @integrations_blp.arguments(ConnectSchema)
    @integrations_blp.response(201, IntegrationSchema)
    def post(self, data, project_id: UUID):
        """Connect a provider; secret config fields are encrypted and only shown masked. A
        Telegram bot's webhook is then registered (setWebhook with the secret token) and
        checked by a job: see the integration's ``webhook``."""
        ctx = project_context(project_id, "manage_integrations")
        session = get_session()
        integration = services.connect_integration(
            session,
            ctx,
            data["provider"],
            data["config"],
            auto_reply=data["auto_reply"],
            human_handoff=data["human_handoff"],
            bot=data["bot"],
        )
        webhook_setup.schedule(session, integration)
        session.commit()
        return integration_view(integration)


@integrations_blp.route("/<uuid:project_id>")
class Integrations(MethodView):
    @integrations_blp.arguments(IntegrationListArgs, location="query")
    @integrations_blp.response(200, IntegrationSchema(many=True))
    def get(self, args, project_id: UUID):
        """List the project's integrations."""
        ctx = project_context(project_id, "view_integrations")
        statement = services.list_integrations(ctx, args.get("provider"))
        return [integration_view(i) for i in paginate(get_session(), statement, args)]


@integrations_blp.route("/<uuid:project_id>/<uuid:integration_id>")
class IntegrationItem(MethodView):
    @integrations_blp.response(200, IntegrationSchema)
    def get(self, project_id: UUID, integration_id: UUID):
        """One integration, secrets masked."""
        ctx = project_context(project_id, "view_integrations")
        return integration_view(services.get_integration(get_session(), ctx, integration_id))

    @integrations_blp.arguments(IntegrationUpdateSchema)
    @integrations_blp.response(200, IntegrationSchema)
    def patch(self, changes, project_id: UUID, integration_id: UUID):
        """Switch the customer bot on or off and choose how urgent messages reach a human."""
        ctx = project_context(project_id, "manage_integrations")
        session = get_session()
        integration = services.update_integration(session, ctx, integration_id, changes)
        session.commit()
        return integration_view(integration)

    @integrations_blp.response(204)
    def delete(self, project_id: UUID, integration_id: UUID):
        """Disconnect: the configuration and stored deliveries go, messages stay."""
        ctx = project_context(project_id, "manage_integrations")
        session = get_session()
        services.disconnect_integration(session, ctx, integration_id)
        session.commit()


@integrations_blp.route("/<uuid:project_id>/<uuid:integration_id>/sync")
class Sync(MethodView):
    @integrations_blp.response(202, SyncQueuedSchema)
    def post(self, project_id: UUID, integration_id: UUID):
        """Queue a sync; follow it at GET /api/v1/jobs/{job_id}."""
        ctx = project_context(project_id, "manage_integrations")
        session = get_session()
        job_id = services.start_sync(session, ctx, integration_id)
        provider = services.get_integration(session, ctx, integration_id).provider
        return {
            "status": "queued",
            "message": f"Sync task queued for {provider} integration",
            "job_id": job_id,
        }


@integrations_blp.route("/<uuid:project_id>/<uuid:integration_id>/deliveries")
class Deliveries(MethodView):
    @integrations_blp.arguments(DeliveryArgs, location="query")
    @integrations_blp.response(200, InboundDeliverySchema(many=True))
    def get(self, args, project_id: UUID, integration_id: UUID):
        """Webhook deliveries received, with their processing status and last error."""
        ctx = project_context(project_id, "view_integrations")
        session = get_session()
        services.get_integration(session, ctx, integration_id)
        return paginate(
            session, services.list_deliveries(ctx, integration_id, args.get("status")), args
        )


@webhooks_blp.route("/<string:provider>/<uuid:integration_id>")
@any_query_parameters
class Webhook(MethodView):
    @webhooks_blp.doc(**PUBLIC)
    @webhooks_blp.response(
        200, {"type": "string"}, content_type="text/plain", description="hub.challenge"
    )
    def get(self, provider: str, integration_id: UUID):
        """The provider's verification handshake (WhatsApp: hub.mode, verify_token, challenge)."""
        challenge = services.webhook_handshake(
            get_session(), provider, integration_id, request.args
        )
        return Response(challenge, mimetype="text/plain")

    @webhooks_blp.doc(**PUBLIC)
    @webhooks_blp.response(200, WebhookAnswerSchema)
    @accepts("*/*")
    @rate_limit("NEBULO_RATE_LIMIT_WEBHOOKS")
    def post(self, provider: str, integration_id: UUID):
        """A provider's delivery, verified on the raw body, stored, then processed by a job."""
        return services.receive_webhook(
            get_session(),
            provider,
            integration_id,
            request.headers,
            request.get_data(),
            request.args,
        )


@messages_blp.route("/<uuid:project_id>/send")
class Send(MethodView):
    @messages_blp.arguments(SendSchema)
    @messages_blp.response(202, ChannelMessageSchema)
    def post(self, data, project_id: UUID):
        """Queue a message; it is sent by a job with retries (status queued -> sent or failed)."""
        ctx = project_context(project_id, "send_messages")
        session = get_session()
        message = services.create_outbound(session, ctx, **data)
        services.queue_for_sending(session, message)
        return message


@messages_blp.route("/<uuid:project_id>/inbox")
class Inbox(MethodView):
    @messages_blp.arguments(InboxArgs, location="query")
    @messages_blp.response(200, ChannelMessageSchema(many=True))
    def get(self, args, project_id: UUID):
        """Messages newest first, filtered by direction, provider, order, read status, days."""
        ctx = project_context(project_id, "view_messages")
        return paginate(get_session(), services.inbox(ctx, args), args)


@messages_blp.route("/<uuid:project_id>/conversation/<uuid:order_id>")
class OrderConversation(MethodView):
    @messages_blp.response(200, ChannelMessageSchema(many=True))
    def get(self, project_id: UUID, order_id: UUID):
        """Every message about one order, oldest first."""
        ctx = project_context(project_id, "view_messages")
        return list(get_session().scalars(services.conversation(ctx, order_id=order_id)))


@messages_blp.route("/<uuid:project_id>/conversation/customer/<uuid:customer_id>")
class CustomerConversation(MethodView):
    @messages_blp.response(200, ChannelMessageSchema(many=True))
    def get(self, project_id: UUID, customer_id: UUID):
        """Every message with one customer, oldest first."""
        ctx = project_context(project_id, "view_messages")
        return list(get_session().scalars(services.conversation(ctx, customer_id=customer_id)))


@messages_blp.route("/<uuid:project_id>/<uuid:message_id>")
class MessageItem(MethodView):
    @messages_blp.response(200, ChannelMessageSchema)
    def get(self, project_id: UUID, message_id: UUID):
        """One message with its delivery status and provider error, if any."""
        ctx = project_context(project_id, "view_messages")
        return services.get_message(get_session(), ctx, message_id)


@messages_blp.route("/<uuid:project_id>/conversation/chat/<string:provider>/<string:chat>")
class ChatConversation(MethodView):
    @messages_blp.response(200, ChannelMessageSchema(many=True))
    def get(self, project_id: UUID, provider: str, chat: str):
        """Every message of one group chat (its provider's chat id; each message with its own
        sender), oldest first."""
        ctx = project_context(project_id, "view_messages")
        statement = services.conversation(ctx, provider=provider, chat_id=chat)
        return list(get_session().scalars(statement))


@messages_blp.route("/<uuid:project_id>/<uuid:message_id>/media")
class MessageMedia(MethodView):
    @messages_blp.response(
        200,
        {"type": "string", "format": "binary"},
        content_type="application/octet-stream",
        description="The attachment, fetched from the provider",
    )
    def get(self, project_id: UUID, message_id: UUID):
        """The message's image, document, audio, video or sticker, fetched from the provider
        on demand (the provider's content type; always a download, never rendered inline)."""
        ctx = project_context(project_id, "view_messages")
        found = media.fetch_message_media(get_session(), ctx, message_id)
        return Response(
            found.content,
            mimetype=found.mime_type,
            headers={
                "Content-Disposition": "attachment",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )


@messages_blp.route("/<uuid:project_id>/<uuid:message_id>/read")
class MarkRead(MethodView):
    @messages_blp.response(200, ChannelMessageSchema)
    def patch(self, project_id: UUID, message_id: UUID):
        """Mark a message read."""
        ctx = project_context(project_id, "send_messages")
        session = get_session()
        message = services.mark_read(session, ctx, message_id)
        session.commit()
        return message


@messages_blp.route("/<uuid:project_id>/stats/summary")
class Stats(MethodView):
    @messages_blp.arguments(StatsArgs, location="query")
    @messages_blp.response(200, StatsSchema)
    def get(self, args, project_id: UUID):
        """Message counts over the last ``days``: direction, provider, status, unread, bot,
        flagged.

        The figures are the metrics API's (``all_messages``, ``inbound_messages``,
        ``outbound_messages``, ``unread_received_messages``, ``ai_answered_messages``,
        ``messages_flagged_for_human``; by ``channel`` and ``status``) for the period "past N
        days": ``days`` whole days in the project's time zone, today included (not ``days``
        times 24 hours back from now). ``unread`` and ``needs_human`` count the period's
        received messages that are unread now or were flagged for a person.
        """
        ctx = project_context(project_id, "view_messages")
        return services.message_stats(get_session(), ctx, args["days"])
