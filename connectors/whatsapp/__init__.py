"""WhatsApp Cloud API connector plugin: inbound messages, delivery statuses, sending."""

from __future__ import annotations

from core.config import Setting
from core.hookspecs import hookimpl


@hookimpl
def plugin_info():
    return {"name": "whatsapp", "version": "0.1.0", "description": "WhatsApp Cloud API messages"}


@hookimpl
def register_settings(register):
    register(
        Setting(
            "NEBULO_WHATSAPP_BASE_URL",
            "https://graph.facebook.com/v21.0",
            "WhatsApp Graph API base URL",
        )
    )


@hookimpl
def register_connectors(register):
    from connectors.whatsapp.connector import WhatsAppConnector

    register(WhatsAppConnector)
