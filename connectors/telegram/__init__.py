"""Telegram Bot API connector plugin: inbound updates and sendMessage."""

from __future__ import annotations

from core.config import Setting
from core.hookspecs import hookimpl


@hookimpl
def plugin_info():
    return {"name": "telegram", "version": "0.1.0", "description": "Telegram bot messages"}


@hookimpl
def register_settings(register):
    register(
        Setting("NEBULO_TELEGRAM_BASE_URL", "https://api.telegram.org", "Telegram Bot API base URL")
    )


@hookimpl
def register_connectors(register):
    from connectors.telegram.connector import TelegramConnector

    register(TelegramConnector)
