"""Gemini through the ``google-genai`` SDK (``google-generativeai`` is deprecated by Google).

Automatic function calling is off: the engine runs the tools, so permission checks and
customer scoping stay in Nebulo. ``NEBULO_GEMINI_BASE_URL`` points the SDK elsewhere (a proxy,
or the tests' fake server). The SDK retries 429/5xx itself with our retry settings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import ValidationError

from assistant.providers.base import (
    RETRY_STATUSES,
    ChatMessage,
    Completion,
    ToolCall,
    malformed,
    provider_error,
)
from assistant.tools import Tool

# google-genai 3.x sends through httpx2 (a fork of httpx); older versions through httpx.
TIMEOUTS = (httpx.TimeoutException, httpx2.TimeoutException, TimeoutError)
TRANSPORT_ERRORS = (httpx.TransportError, httpx2.TransportError)


LOCAL_ID = "nebulo-"


def _model_id(call_id: str | None) -> str | None:
    """Ids the model gave go back to it; ids Nebulo made up (the Gemini API sends none) do not."""
    return None if not call_id or call_id.startswith(LOCAL_ID) else call_id


def _contents(messages: Sequence[ChatMessage]) -> list[types.Content]:
    """Our messages as Gemini contents; consecutive tool results share one user turn."""
    contents: list[types.Content] = []
    for message in messages:
        if message.role == "tool":
            try:
                result = json.loads(message.content)
            except json.JSONDecodeError:
                result = message.content
            part = types.Part(
                function_response=types.FunctionResponse(
                    id=_model_id(message.tool_call_id),
                    name=message.name,
                    response={"result": result},
                )
            )
            if contents and contents[-1].role == "user" and contents[-1].parts[0].function_response:
                contents[-1].parts.append(part)
            else:
                contents.append(types.Content(role="user", parts=[part]))
            continue
        parts = [types.Part(text=message.content)] if message.content else []
        parts += [
            types.Part(
                function_call=types.FunctionCall(
                    id=_model_id(call.id), name=call.name, args=call.arguments
                )
            )
            for call in message.tool_calls
        ]
        contents.append(
            types.Content(role="model" if message.role == "assistant" else "user", parts=parts)
        )
    return contents


class GeminiProvider:
    name = "gemini"

    def __init__(self, settings: Any):
        self.model = settings.get("NEBULO_GEMINI_MODEL")
        options = types.HttpOptions(
            base_url=settings.get("NEBULO_GEMINI_BASE_URL") or None,
            timeout=int(settings.get("NEBULO_ASSISTANT_TIMEOUT_SECONDS") * 1000),
            retry_options=types.HttpRetryOptions(
                attempts=settings.get("NEBULO_ASSISTANT_RETRIES") + 1,
                initial_delay=settings.get("NEBULO_ASSISTANT_RETRY_DELAY_SECONDS"),
                http_status_codes=list(RETRY_STATUSES),
            ),
        )
        self.client = genai.Client(
            api_key=settings.get("NEBULO_GEMINI_API_KEY") or "unset", http_options=options
        )

    def complete(
        self, system: str, messages: Sequence[ChatMessage], tools: Sequence[Tool]
    ) -> Completion:
        config = types.GenerateContentConfig(
            system_instruction=system,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            tools=[
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(
                            name=tool.name,
                            description=tool.description,
                            parameters_json_schema=tool.parameters,
                        )
                        for tool in tools
                    ]
                )
            ]
            if tools
            else None,
        )
        try:
            response = self.client.models.generate_content(
                model=self.model, contents=_contents(messages), config=config
            )
        except genai_errors.APIError as error:
            raise provider_error(error.code, self.name, (error.message or "")[:200]) from None
        except TIMEOUTS:
            raise provider_error(None, self.name) from None
        except TRANSPORT_ERRORS as error:
            raise provider_error(
                503, self.name, f"cannot connect: {type(error).__name__}"
            ) from None
        except (ValidationError, ValueError, json.JSONDecodeError) as error:
            raise malformed(self.name, type(error).__name__) from None
        if not response.candidates or response.candidates[0].content is None:
            raise malformed(self.name, "no candidate in the answer")
        parts = response.candidates[0].content.parts or []
        calls = tuple(
            ToolCall(
                id=part.function_call.id or f"{LOCAL_ID}{index}",
                name=part.function_call.name or "",
                arguments=dict(part.function_call.args or {}),
            )
            for index, part in enumerate(parts)
            if part.function_call
        )
        text = "".join(part.text for part in parts if part.text and not part.thought)
        usage = response.usage_metadata
        return Completion(
            text=text,
            tool_calls=calls,
            prompt_tokens=(usage.prompt_token_count or 0) if usage else 0,
            completion_tokens=(usage.candidates_token_count or 0) if usage else 0,
            model=response.model_version or self.model,
        )
