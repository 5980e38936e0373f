"""The assistant plugin's hooks: settings, permission, models, routes, providers, CLI."""

from __future__ import annotations

from pathlib import Path

from core.hookspecs import hookimpl


@hookimpl
def plugin_info():
    return {
        "name": "assistant",
        "version": "0.1.0",
        "description": "Conversational assistant with function calling over every plugin's tools",
        "requires": [],
    }


@hookimpl
def register_settings(register):
    from assistant.settings import SETTINGS

    for setting in SETTINGS:
        register(setting)


@hookimpl
def register_permissions(register):
    register(
        "use_assistant", "Ask the assistant, draft replies, see assistant usage", min_role="viewer"
    )


@hookimpl
def register_models(register):
    from assistant import models  # noqa: F401 - registers the tables

    register(Path(__file__).parent / "migrations")


@hookimpl
def register_blueprints(register):
    from assistant.routes import blp

    register(blp)


@hookimpl
def register_llm_providers(register):
    from assistant.providers.gemini import GeminiProvider
    from assistant.providers.offline import OfflineProvider
    from assistant.providers.openai import OpenAIProvider

    register("offline", OfflineProvider)
    register("gemini", GeminiProvider)
    register("openai", OpenAIProvider)


@hookimpl
def register_commands(cli):
    from assistant.cli import chat

    cli.add_command(chat)
