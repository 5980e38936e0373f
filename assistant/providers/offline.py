"""The offline provider: a deterministic planner that needs no model and no network.

It reads the question into a metrics query or a plugin's tool call (:mod:`assistant.planner`),
asks the engine to run it (linking names with the lookup tools first) and writes the answer
from the results. The default when no API key is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from flask import current_app, has_app_context

from assistant.planner.plan import next_step
from assistant.planner.route import extract_arguments, rank_tools
from assistant.providers.base import ChatMessage, Completion, ToolCall
from assistant.tools import Tool

MODEL = "offline"

__all__ = ["MODEL", "OfflineProvider", "extract_arguments", "rank_tools"]


def _tokens(*texts: str) -> int:
    return sum(len(text.split()) for text in texts)


def _metrics() -> dict[str, Any]:
    if not has_app_context():
        return {}
    return current_app.extensions["nebulo"].registry.metrics


class OfflineProvider:
    """Answers from tools without a language model."""

    name = "offline"
    model = MODEL

    def __init__(self, settings: Any = None):
        self.settings = settings

    def complete(
        self, system: str, messages: Sequence[ChatMessage], tools: Sequence[Tool]
    ) -> Completion:
        step = next_step(messages, tools, _metrics(), date.today())
        asked = _tokens(messages[-1].content)
        if step.calls:
            calls = tuple(
                ToolCall(id=f"offline-{len(messages)}-{index}", name=name, arguments=arguments)
                for index, (name, arguments) in enumerate(step.calls)
            )
            return Completion(
                tool_calls=calls, prompt_tokens=asked, completion_tokens=1, model=MODEL
            )
        return Completion(
            text=step.text, prompt_tokens=asked, completion_tokens=_tokens(step.text), model=MODEL
        )
