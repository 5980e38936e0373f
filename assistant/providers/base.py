"""The interface every model provider implements, and the messages that cross it.

The engine speaks only these types; each provider translates them to its wire format
(Gemini ``contents``/``functionCall`` parts, OpenAI ``messages``/``tool_calls``) and back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from assistant.tools import Tool
from core.errors import BadGateway, GatewayTimeout, NebuloError, ServiceUnavailable

Role = Literal["user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    """The model asks to run ``name`` with ``arguments``; ``id`` pairs it with its result."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Completion:
    """One model answer: final ``text`` or ``tool_calls`` to run, with the tokens it cost."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    """A model that answers a conversation, possibly by asking for tool calls."""

    name: str
    model: str

    def complete(
        self, system: str, messages: Sequence[ChatMessage], tools: Sequence[Tool]
    ) -> Completion: ...


ProviderFactory = Callable[[Any], Provider]
"""``factory(settings)`` builds a provider from the app's :class:`core.config.Settings`."""


def provider_error(status: int | None, provider: str, detail: str = "") -> NebuloError:
    """The error a client sees when the model's server fails: 502, 503 or 504."""
    suffix = f": {detail}" if detail else ""
    if status in (401, 403):
        return BadGateway(
            f"The {provider} provider rejected the configured API key ({status}){suffix}"
        )
    if status == 429:
        return ServiceUnavailable(
            f"The {provider} provider is rate limiting or out of quota (429); try again later",
            headers={"Retry-After": "30"},
        )
    if status == 503:
        return ServiceUnavailable(f"The {provider} provider is unavailable (503){suffix}")
    if status is None:
        return GatewayTimeout(f"The {provider} provider did not answer in time{suffix}")
    return BadGateway(f"The {provider} provider failed ({status}){suffix}")


def malformed(provider: str, detail: str) -> BadGateway:
    return BadGateway(f"The {provider} provider sent an answer Nebulo cannot read: {detail}")


RETRY_STATUSES = (429, 500, 502, 503, 504)


def to_json(value: Any) -> str:
    """Tool results as the JSON text a model reads (dates, Decimals and UUIDs as strings)."""
    return json.dumps(value, default=str, ensure_ascii=False)
