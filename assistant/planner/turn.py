"""One turn of the offline planner as stored: the question, what came before it and the
results of the tool calls made for it so far, and the step to take next."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.planner.dialogue import METRICS_TOOL
from assistant.providers.base import ChatMessage


@dataclass(frozen=True)
class Step:
    """Tool calls to make now (name, arguments), or the final ``text`` (``missing``: the
    arguments a tool needs that the question does not give)."""

    text: str = ""
    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    missing: tuple[str, ...] = ()


@dataclass
class Turn:
    question: str
    history: Sequence[ChatMessage]
    results: dict[str, tuple[dict[str, Any], Any]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    """The metrics queries of this turn the engine refused, as :func:`key` writes them."""


def read_turn(messages: Sequence[ChatMessage]) -> Turn:
    """The question of the turn in progress, what came before it and this turn's results."""
    start = max(i for i, m in enumerate(messages) if m.role == "user")
    turn = Turn(messages[start].content, messages[:start])
    calls = {c.id: c for m in messages[start:] for c in m.tool_calls}
    for message in messages[start:]:
        if message.role == "tool" and message.tool_call_id in calls:
            call = calls[message.tool_call_id]
            try:
                result = json.loads(message.content)
            except json.JSONDecodeError:
                result = message.content
            if call.name == METRICS_TOOL and refused(result):
                turn.failed.append(key(call.arguments))
                if METRICS_TOOL in turn.results:
                    continue  # a reading the engine refused: the one it accepted answers
            turn.results[call.name] = (call.arguments, result)
    return turn


def refused(result: Any) -> bool:
    return not isinstance(result, dict) or set(result) == {"error"}


def key(arguments: Mapping[str, Any]) -> str:
    return json.dumps(arguments, sort_keys=True, default=list)


def ordinary(question: str, entity: str) -> bool:
    """One lower-case word, as typed: a word of the question rather than a name, unless a
    lookup finds it ("placed", "typical" are not products; "croissants" is)."""
    return entity.isalpha() and entity.islower() and entity in question
