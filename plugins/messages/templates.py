"""WhatsApp message templates: synced from the Cloud API, listed, and sent with their
variables checked against the template (count and types) before anything reaches Meta."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from connectors.whatsapp import templates as wire
from core.context import Context
from core.db import get_scoped, utcnow
from core.errors import Conflict, Invalid, NotFound
from plugins.messages import services
from plugins.messages.models import Integration, Message, MessageTemplate


def _whatsapp(session: Session, ctx: Context, integration_id: uuid.UUID) -> Integration:
    integration = services.get_integration(session, ctx, integration_id)
    if integration.provider != "whatsapp":
        raise Conflict(
            f"Message templates are WhatsApp's; this integration is {integration.provider}"
        )
    return integration


def start_sync(session: Session, ctx: Context, integration_id: uuid.UUID) -> uuid.UUID:
    """Queue the job that syncs the integration's templates; returns its id."""
    from core.jobs import enqueue
    from plugins.messages.jobs import sync_templates

    ctx.require("manage_integrations")
    integration = _whatsapp(session, ctx, integration_id)
    if not integration.public_config.get("business_account_id"):
        raise Conflict(
            "Set the integration's business_account_id (the WABA id) to sync its templates"
        )
    return enqueue(
        sync_templates,
        str(ctx.project_id),
        str(integration.id),
        project_id=ctx.project_id,
        user_id=ctx.user_id,
    )


def sync(
    session_factory: Any, ctx: Context, integration_id: uuid.UUID, progress: Any
) -> dict[str, int]:
    """Store every template Meta lists, a page per transaction; templates no longer listed
    are deleted once every page was read (a failed sync deletes nothing)."""
    with session_factory() as session:
        integration = get_scoped(
            session, Integration, ctx.project_id, integration_id, what="Integration"
        )
        connector = services.connector_for(integration)
    seen: set[tuple[str, str]] = set()
    stored = 0
    try:
        for page in connector.message_templates(progress):
            with session_factory() as session:
                for entry in page:
                    if _store(session, ctx, integration_id, entry):
                        seen.add((str(entry["name"]), str(entry["language"])))
                        stored += 1
    finally:
        connector.close()
    with session_factory() as session:
        removed = 0
        for template in session.scalars(
            select(MessageTemplate).where(MessageTemplate.integration_id == integration_id)
        ):
            if (template.name, template.language) not in seen:
                session.delete(template)
                removed += 1
    progress(100, f"{stored} template(s) synced")
    return {"synced": stored, "removed": removed}


def _store(
    session: Session, ctx: Context, integration_id: uuid.UUID, entry: Mapping[str, Any]
) -> bool:
    """Upsert one template from Meta's list; False for an entry without name or language."""
    name, language = entry.get("name"), entry.get("language")
    if not isinstance(name, str) or not isinstance(language, str) or not name or not language:
        return False
    components = [c for c in entry.get("components") or [] if isinstance(c, dict)]
    template = session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.integration_id == integration_id,
            MessageTemplate.name == name[:512],
            MessageTemplate.language == language[:16],
        )
    ) or MessageTemplate(
        project_id=ctx.project_id,
        integration_id=integration_id,
        name=name[:512],
        language=language[:16],
    )
    template.provider_template_id = str(entry.get("id") or "")[:64]
    template.category = str(entry.get("category") or "")[:32]
    template.status = str(entry.get("status") or "")[:32]
    reason = entry.get("rejected_reason")
    template.rejected_reason = str(reason)[:200] if reason and reason != "NONE" else None
    template.components = components
    template.variables = wire.template_variables(components)
    template.synced_at = utcnow()
    session.add(template)
    session.flush()
    return True


def list_templates(
    session: Session, ctx: Context, integration_id: uuid.UUID, status: str | None = None
) -> Select:
    ctx.require("view_integrations")
    _whatsapp(session, ctx, integration_id)
    statement = select(MessageTemplate).where(
        MessageTemplate.project_id == ctx.project_id,
        MessageTemplate.integration_id == integration_id,
    )
    if status:
        statement = statement.where(MessageTemplate.status == status)
    return statement.order_by(MessageTemplate.name, MessageTemplate.language)


def find_template(
    session: Session, integration: Integration, name: str, language: str | None
) -> MessageTemplate:
    """The synced template by name (and language when several exist), or 404 naming them."""
    statement = select(MessageTemplate).where(
        MessageTemplate.integration_id == integration.id, MessageTemplate.name == name
    )
    if language:
        statement = statement.where(MessageTemplate.language == language)
    found = session.scalars(statement.order_by(MessageTemplate.language)).all()
    if not found:
        raise NotFound(f"No synced template {name!r}{f' in {language}' if language else ''}")
    if len(found) > 1:
        languages = ", ".join(t.language for t in found)
        raise Invalid(errors={"language": [f"{name!r} exists in {languages}: choose one."]})
    return found[0]


def send_template(
    session: Session,
    ctx: Context,
    *,
    name: str,
    variables: Sequence[Any],
    language: str | None = None,
    integration_id: uuid.UUID | None = None,
    recipient: Mapping[str, Any] | None = None,
    customer_id: uuid.UUID | None = None,
    order_id: uuid.UUID | None = None,
) -> Message:
    """A queued template message, recorded with the text the customer will read. A template
    Meta has not approved (pending, rejected, paused...) is refused with 409."""
    ctx.require("send_messages")
    integration = services.sending_integration(session, ctx, "whatsapp", integration_id)
    template = find_template(session, integration, name, language)
    if template.status != wire.SENDABLE_STATUS:
        why = f" ({template.rejected_reason})" if template.rejected_reason else ""
        raise Conflict(
            f"Template {name!r} ({template.language}) is {template.status}{why}: only APPROVED "
            "templates can be sent"
        )
    problems = wire.check_values(template.variables, variables)
    if problems:
        raise Invalid(errors={key: [value] for key, value in problems.items()})
    payload = wire.send_payload(
        template.name,
        template.language,
        template.variables,
        variables,
        wire.is_named(template.variables),
    )
    return services.create_outbound(
        session,
        ctx,
        provider="whatsapp",
        content=wire.render(template.components, template.variables, variables) or template.name,
        recipient=recipient,
        customer_id=customer_id,
        order_id=order_id,
        integration_id=integration.id,
        content_type="template",
        details={"template": payload},
    )
