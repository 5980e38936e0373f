"""OpenAI-compatible chat completions over httpx: OpenAI, Ollama, vLLM, llama.cpp server.

Speaks ``POST {base}/v1/chat/completions`` with ``tools`` and reads ``tool_calls`` and ``usage``.
429, 5xx and network errors are retried with exponential backoff; what still fails becomes a
502/503/504 for the client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import httpx

from assistant.providers.base import (
    RETRY_STATUSES,
    ChatMessage,
    Completion,
    ToolCall,
    malformed,
    provider_error,
)
from assistant.tools import Tool

MAX_RETRY_AFTER_SECONDS = 10.0


def openai_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """JSON schema as OpenAI reads it: ``nullable`` becomes a ``null`` type."""
    converted = {key: value for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable"):
        converted["type"] = [schema["type"], "null"]
    if "properties" in schema:
        converted["properties"] = {
            name: openai_schema(sub) for name, sub in schema["properties"].items()
        }
    if "items" in schema:
        converted["items"] = openai_schema(schema["items"])
    return converted


def _wire_message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    wire: dict[str, Any] = {"role": message.role, "content": message.content or None}
    if message.tool_calls:
        wire["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in message.tool_calls
        ]
    return wire


def _arguments(raw: Any) -> Any:
    """Arguments arrive as a JSON string; unreadable ones stay raw and fail validation."""
    if isinstance(raw, dict):
        return raw
    try:
        return json.loads(raw or "{}")
    except (TypeError, json.JSONDecodeError):
        return raw


class OpenAIProvider:
    name = "openai"

    def __init__(self, settings: Any, transport: httpx.BaseTransport | None = None):
        base = settings.get("NEBULO_OPENAI_BASE_URL").rstrip("/")
        self.url = base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")
        self.model = settings.get("NEBULO_OPENAI_MODEL")
        self.retries = settings.get("NEBULO_ASSISTANT_RETRIES")
        self.retry_delay = settings.get("NEBULO_ASSISTANT_RETRY_DELAY_SECONDS")
        headers = {"Content-Type": "application/json"}
        if settings.get("NEBULO_OPENAI_API_KEY"):
            headers["Authorization"] = f"Bearer {settings.get('NEBULO_OPENAI_API_KEY')}"
        self.http = httpx.Client(
            headers=headers,
            timeout=settings.get("NEBULO_ASSISTANT_TIMEOUT_SECONDS"),
            transport=transport,
        )

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            delay = self.retry_delay * 2**attempt
            try:
                response = self.http.post(self.url, json=body)
            except httpx.TimeoutException:
                if last:
                    raise provider_error(None, self.name) from None
            except httpx.TransportError as error:
                if last:
                    raise provider_error(
                        503, self.name, f"cannot connect: {type(error).__name__}"
                    ) from None
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise malformed(self.name, "the body is not JSON") from None
                if response.status_code not in RETRY_STATUSES or last:
                    raise provider_error(response.status_code, self.name, _error_text(response))
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.replace(".", "", 1).isdigit():
                    delay = min(float(retry_after), MAX_RETRY_AFTER_SECONDS)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def complete(
        self, system: str, messages: Sequence[ChatMessage], tools: Sequence[Tool]
    ) -> Completion:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, *map(_wire_message, messages)],
        }
        if tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": openai_schema(tool.parameters),
                    },
                }
                for tool in tools
            ]
        data = self._post(body)
        try:
            message = data["choices"][0]["message"]
            calls = tuple(
                ToolCall(
                    id=call.get("id") or f"call-{index}",
                    name=call["function"]["name"],
                    arguments=_arguments(call["function"].get("arguments")),
                )
                for index, call in enumerate(message.get("tool_calls") or ())
            )
            usage = data.get("usage") or {}
            return Completion(
                text=message.get("content") or "",
                tool_calls=calls,
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                model=data.get("model") or self.model,
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
            raise malformed(self.name, f"missing {error}") from None


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
        return str(error.get("message") if isinstance(error, dict) else error or "")[:200]
    except (ValueError, AttributeError):
        return response.text[:200]
