"""Telling a provider where to deliver: Telegram's setWebhook (with the integration's secret
token) when the integration is connected, checked with getWebhookInfo. The outcome is kept on
the integration (``webhook_state``; a failure also sets its status and ``last_error``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from connectors.base import ProviderError
from core.context import Context
from core.db import get_scoped, utcnow
from core.errors import Conflict
from plugins.messages import services
from plugins.messages.models import Integration

REGISTERING = frozenset({"telegram"})
"""Providers whose webhook Nebulo registers itself (WhatsApp's is set in Meta's app)."""


def webhook_url(integration: Integration) -> str | None:
    base = services.app_settings().get("NEBULO_PUBLIC_URL")
    if not base:
        return None
    return f"{base.rstrip('/')}/api/v1/webhooks/{integration.provider}/{integration.id}"


def schedule(session: Session, integration: Integration) -> uuid.UUID | None:
    """Queue the registration of a new or re-checked integration, in the caller's
    transaction; without NEBULO_PUBLIC_URL nothing can be registered, and the integration
    says so."""
    from core.jobs import enqueue
    from plugins.messages.jobs import register_webhook

    if integration.provider not in REGISTERING:
        return None
    url = webhook_url(integration)
    if url is None:
        integration.webhook_state = {
            "status": "not_registered",
            "url": None,
            "error": "NEBULO_PUBLIC_URL is not set: register the webhook yourself or set it",
            "checked_at": utcnow().isoformat(),
        }
        return None
    integration.webhook_state = {"status": "pending", "url": url, "error": None}
    return enqueue(
        register_webhook,
        str(integration.project_id),
        str(integration.id),
        project_id=integration.project_id,
        session=session,
    )


def start(session: Session, ctx: Context, integration_id: uuid.UUID) -> uuid.UUID | None:
    """Register (again) and check the integration's webhook; returns the job id."""
    ctx.require("manage_integrations")
    integration = services.get_integration(session, ctx, integration_id)
    if integration.provider not in REGISTERING:
        raise Conflict(
            f"{integration.provider} webhooks are configured at the provider, not by Nebulo"
        )
    return schedule(session, integration)


def register(session_factory: Any, ctx: Context, integration_id: uuid.UUID) -> dict[str, Any]:
    """setWebhook then getWebhookInfo; a refusal, or a check that shows another URL or a
    delivery error, is written on the integration."""
    with session_factory() as session:
        integration = get_scoped(
            session, Integration, ctx.project_id, integration_id, what="Integration"
        )
        url = webhook_url(integration)
        connector = services.connector_for(integration)
    state: dict[str, Any] = {"url": url, "checked_at": utcnow().isoformat()}
    try:
        connector.set_webhook(url)
        info = connector.webhook_info()
        state["pending_update_count"] = info["pending_update_count"]
        if info["url"] != url:
            state["error"] = f"getWebhookInfo shows {info['url'] or 'no URL'}, not {url}"
        elif info["last_error"]:
            state["error"] = f"Telegram's last delivery failed: {info['last_error']}"
    except ProviderError as error:
        state["error"] = f"setWebhook failed: {error}"[:2000]
    finally:
        connector.close()
    state["status"] = "failed" if state.get("error") else "registered"
    state.setdefault("error", None)
    with session_factory() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return state
        integration.webhook_state = state
        if state["error"]:
            integration.status, integration.last_error = "error", state["error"]
        elif integration.last_error and integration.last_error.startswith(
            ("setWebhook", "getWebhookInfo", "Telegram's last")
        ):
            integration.status, integration.last_error = "connected", None
    return state
