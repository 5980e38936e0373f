"""Plugin ``messages``: integrations with Shopify / WhatsApp / Telegram, webhooks, the inbox,
sending with retries, order sync and the customer bot."""

from __future__ import annotations

import re
from pathlib import Path

from core.config import Setting, parse_bool
from core.hookspecs import hookimpl
from plugins.messages.reports import report_sections  # noqa: F401 - the reports hook


@hookimpl
def plugin_info():
    return {
        "name": "messages",
        "version": "0.1.0",
        "description": "Integrations, provider webhooks, inbox, sending, order sync, customer bot",
        "requires": ["customers", "orders", "assistant"],
    }


@hookimpl
def register_settings(register):
    from plugins.messages.vault import parse_key

    register(
        Setting(
            "NEBULO_ENCRYPTION_KEY",
            None,
            "32-byte URL-safe base64 key encrypting integration secrets (required in production; "
            "derived from NEBULO_SECRET_KEY otherwise)",
            parse_key,
            required_in_production=True,
        )
    )
    register(
        Setting(
            "NEBULO_RATE_LIMIT_WEBHOOKS",
            "20000/minute",
            "Provider webhook deliveries accepted per sending address (they are signed, and "
            "providers burst)",
        )
    )
    register(
        Setting(
            "NEBULO_PUBLIC_URL",
            None,
            "This server's public https address (https://ops.example.com): Telegram "
            "integrations register their webhook under it when connected",
            parse_public_url,
        )
    )
    register(
        Setting(
            "NEBULO_WEBHOOK_VERIFY_SIGNATURES",
            True,
            "Check provider webhook signatures (always on in production; off only for benchmarks)",
            parse_bool,
        )
    )


def parse_public_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", value.strip()):
        raise ValueError(f"{value!r} is not an http(s) address like https://ops.example.com")
    return value.strip().rstrip("/")


@hookimpl
def register_permissions(register):
    register(
        "view_integrations", "See integrations and their webhook deliveries", min_role="viewer"
    )
    register("manage_integrations", "Connect, sync and disconnect integrations", min_role="admin")
    register(
        "view_messages", "Read the inbox, conversations and message statistics", min_role="viewer"
    )
    register("send_messages", "Send messages and mark them read", min_role="operator")


@hookimpl
def register_models(register):
    from plugins.messages import models  # noqa: F401 - adds the tables to Base.metadata

    register(Path(__file__).parent / "migrations")


@hookimpl
def register_blueprints(register):
    from plugins.messages import routes_bot  # noqa: F401 - adds its routes to the blueprints
    from plugins.messages.routes import integrations_blp, messages_blp, webhooks_blp

    register(integrations_blp)
    register(webhooks_blp)
    register(messages_blp)


@hookimpl
def register_jobs(register):
    from plugins.messages import jobs

    register(jobs.process_deliveries, retries=jobs.PROCESS_RETRIES, backoff=(2, 10, 60))
    register(jobs.deliver_message, retries=jobs.SEND_RETRIES, backoff=(5, 30, 120, 600))
    register(jobs.sync_integration, retries=jobs.SYNC_RETRIES)
    register(jobs.answer_customer, retries=jobs.ANSWER_RETRIES, backoff=(5, 60))
    register(jobs.sync_templates, retries=jobs.SYNC_RETRIES)
    register(jobs.register_webhook, retries=jobs.WEBHOOK_RETRIES)
    register(jobs.score_sentiment, retries=jobs.SENTIMENT_RETRIES)


@hookimpl
def register_commands(cli):
    from plugins.messages.cli import messages

    cli.add_command(messages)


@hookimpl
def load_demo(project, session):
    from plugins.messages.demo import load_demo_messages

    load_demo_messages(session, project.id)


@hookimpl
def register_tools(register):
    from plugins.messages.tools import TOOLS

    for function in TOOLS:
        register(function)


@hookimpl
def register_metrics(register):
    from plugins.messages.metrics import METRICS

    for metric in METRICS:
        register(metric)
