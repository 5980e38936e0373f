"""The assistant plugin's hooks: settings, permission, models, routes, the metrics tool,
providers, CLI."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

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


def _imported_when_built(module: str, name: str) -> Callable[[Any], Any]:
    """A provider factory that imports its module on first use: google-genai and scikit-learn
    take seconds to import, and most commands never talk to a model."""

    def build(settings: Any) -> Any:
        return getattr(import_module(module), name)(settings)

    return build


@hookimpl
def register_tools(register):
    from assistant.metrics_tool import query_metrics

    register(query_metrics)


@hookimpl
def register_llm_providers(register):
    register("offline", _imported_when_built("assistant.providers.offline", "OfflineProvider"))
    register("gemini", _imported_when_built("assistant.providers.gemini", "GeminiProvider"))
    register("openai", _imported_when_built("assistant.providers.openai", "OpenAIProvider"))


@hookimpl
def register_commands(cli):
    from assistant.cli import chat

    cli.add_command(chat)
