"""/api/v1/projects/<project_id>/webhooks: outbound webhooks and their delivery log."""

from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.context import project_context
from core.db import get_session
from core.events import EVENT_NAME
from core.pagination import paginate
from core.schemas import PageArgs, StrictSchema
from core.webhooks import services

blp = Blueprint(
    "project_webhooks", __name__, url_prefix="/projects", description="Outbound webhooks"
)

SIGNATURE_DOC = """

Each event is sent as `POST <url>` with the JSON body
`{"id": event id, "event": name, "project_id", "occurred_at", "payload"}` and the headers
`X-Nebulo-Event` (event name), `X-Nebulo-Delivery` (delivery id) and
`X-Nebulo-Signature: sha256=<hex>`, where `<hex>` is the HMAC-SHA256 of the raw request body
keyed with the webhook's secret. Verify it by recomputing the HMAC over the exact bytes received
and comparing in constant time (Python: `hmac.compare_digest`). A non-2xx answer, a timeout or a
network error is retried with backoff; after the last attempt the delivery is `failed`.
"""


def events_field(**options) -> fields.List:
    return fields.List(
        fields.String(
            validate=validate.Regexp(
                rf"^(\*|{EVENT_NAME.pattern[1:-1]})$",
                error="Use an event name such as 'order.created', or '*' for every event.",
            )
        ),
        validate=validate.Length(min=1, max=100),
        metadata={"description": 'Event names to receive, or ["*"] for all of them'},
        **options,
    )


def url_field(**options) -> fields.URL:
    return fields.URL(
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=2000),
        metadata={"description": "The http or https URL that receives the POSTs"},
        **options,
    )


class WebhookSchema(StrictSchema):
    id = fields.UUID(dump_only=True)
    url = url_field(required=True)
    events = events_field(required=True)
    secret = fields.String(
        load_only=True,
        validate=validate.Length(min=16, max=128),
        metadata={"description": "HMAC key; generated when not given, shown only at creation"},
    )
    is_active = fields.Boolean(load_default=True)
    created_at = fields.DateTime(dump_only=True)


class CreatedWebhookSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "The HMAC key, shown this once"})


class WebhookUpdateSchema(StrictSchema):
    url = url_field()
    events = events_field()
    is_active = fields.Boolean()


class DeliverySchema(StrictSchema):
    id = fields.UUID()
    webhook_id = fields.UUID()
    event_id = fields.UUID()
    event = fields.String(attribute="event_name")
    status = fields.String(metadata={"description": "pending, delivered or failed"})
    attempts = fields.Integer()
    response_status = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    last_attempt_at = fields.DateTime(allow_none=True)


def documents_signature(view):
    """Append how deliveries are signed to the view's OpenAPI description."""
    view.__doc__ = (view.__doc__ or "").rstrip() + SIGNATURE_DOC
    return view


@blp.route("/<uuid:project_id>/webhooks")
class Webhooks(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, WebhookSchema(many=True))
    def get(self, args, project_id: UUID):
        """The project's webhooks (their secrets are never shown again)."""
        ctx = project_context(project_id, "manage_webhooks")
        return paginate(get_session(), services.list_webhooks(ctx), args)

    @documents_signature
    @blp.arguments(WebhookSchema)
    @blp.response(201, CreatedWebhookSchema)
    def post(self, data, project_id: UUID):
        """Register a URL for the project's events; the answer shows the secret this once."""
        session = get_session()
        webhook = services.create_webhook(
            session, project_context(project_id, "manage_webhooks"), data
        )
        session.commit()
        return webhook


@blp.route("/<uuid:project_id>/webhooks/<uuid:webhook_id>")
class WebhookItem(MethodView):
    @documents_signature
    @blp.response(200, WebhookSchema)
    def get(self, project_id: UUID, webhook_id: UUID):
        """One webhook."""
        ctx = project_context(project_id, "manage_webhooks")
        return services.get_webhook(get_session(), ctx, webhook_id)

    @blp.arguments(WebhookUpdateSchema)
    @blp.response(200, WebhookSchema)
    def patch(self, changes, project_id: UUID, webhook_id: UUID):
        """Change a webhook's URL, events or active flag."""
        session = get_session()
        ctx = project_context(project_id, "manage_webhooks")
        webhook = services.update_webhook(session, ctx, webhook_id, changes)
        session.commit()
        return webhook

    @blp.response(204)
    def delete(self, project_id: UUID, webhook_id: UUID):
        """Delete a webhook and its delivery log."""
        session = get_session()
        services.delete_webhook(session, project_context(project_id, "manage_webhooks"), webhook_id)
        session.commit()


@blp.route("/<uuid:project_id>/webhooks/<uuid:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @documents_signature
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, DeliverySchema(many=True))
    def get(self, args, project_id: UUID, webhook_id: UUID):
        """The webhook's deliveries, newest first: status, attempts, last answer, error."""
        session = get_session()
        ctx = project_context(project_id, "manage_webhooks")
        return paginate(session, services.list_deliveries(session, ctx, webhook_id), args)
