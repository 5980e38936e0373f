"""The assistant's settings and its per-model price table."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.config import Setting

# USD per one million (input, output) tokens; a model not listed costs 0.
DEFAULT_PRICES = {
    "offline": [0, 0],
    "gemini-2.5-flash": [0.30, 2.50],
    "gemini-2.5-flash-lite": [0.10, 0.40],
    "gemini-2.5-pro": [1.25, 10.00],
    "gpt-4o-mini": [0.15, 0.60],
    "gpt-4o": [2.50, 10.00],
}


def parse_prices(raw: str) -> dict[str, tuple[Decimal, Decimal]]:
    """``{"model": [input_usd_per_1M, output_usd_per_1M], ...}`` as JSON."""
    try:
        table = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(table, dict):
        raise ValueError('expected {"model": [input_per_1M, output_per_1M]}')
    prices = {}
    for model, pair in table.items():
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(
                isinstance(p, (int, float)) and not isinstance(p, bool) and p >= 0 for p in pair
            )
        ):
            raise ValueError(f"price of {model!r} must be [input_per_1M, output_per_1M] >= 0")
        prices[model] = (Decimal(str(pair[0])), Decimal(str(pair[1])))
    return prices


def parse_provider(raw: str) -> str:
    return raw.strip().lower()


def positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


SETTINGS = (
    Setting(
        "NEBULO_ASSISTANT_PROVIDER",
        "",
        "offline | gemini | openai | a plugin's provider; empty: gemini when NEBULO_GEMINI_API_KEY "
        "is set, openai when NEBULO_OPENAI_API_KEY is set, else offline",
        parse_provider,
    ),
    Setting(
        "NEBULO_ASSISTANT_MAX_STEPS", 5, "Model calls per question before giving up", positive_int
    ),
    Setting(
        "NEBULO_ASSISTANT_HISTORY",
        20,
        "Earlier messages of a conversation sent again",
        positive_int,
    ),
    Setting(
        "NEBULO_ASSISTANT_TIMEOUT_SECONDS", 30.0, "Timeout of one provider request", positive_float
    ),
    Setting(
        "NEBULO_ASSISTANT_RETRIES", 2, "Retries after a 429/5xx/network error", non_negative_int
    ),
    Setting("NEBULO_ASSISTANT_RETRY_DELAY_SECONDS", 1.0, "First retry delay (doubles)", float),
    Setting(
        "NEBULO_ASSISTANT_PRICES",
        parse_prices(json.dumps(DEFAULT_PRICES)),
        'Per-model prices as JSON {"model": [USD per 1M input tokens, USD per 1M output tokens]}',
        parse_prices,
    ),
    Setting("NEBULO_GEMINI_API_KEY", "", "Gemini API key (google-genai)"),
    Setting("NEBULO_GEMINI_MODEL", "gemini-2.5-flash", "Gemini model name"),
    Setting("NEBULO_GEMINI_BASE_URL", "", "Override of the Gemini API base URL (proxies, tests)"),
    Setting(
        "NEBULO_OPENAI_BASE_URL",
        "https://api.openai.com",
        "OpenAI-compatible server root (…/v1/chat/completions)",
    ),
    Setting(
        "NEBULO_OPENAI_API_KEY",
        "",
        "API key of the OpenAI-compatible server (may be empty for Ollama)",
    ),
    Setting("NEBULO_OPENAI_MODEL", "gpt-4o-mini", "Model name on the OpenAI-compatible server"),
)


def provider_name(settings: Any) -> str:
    chosen = settings.get("NEBULO_ASSISTANT_PROVIDER")
    if chosen:
        return chosen
    if settings.get("NEBULO_GEMINI_API_KEY"):
        return "gemini"
    if settings.get("NEBULO_OPENAI_API_KEY"):
        return "openai"
    return "offline"


MICRO = Decimal(1_000_000)


def cost_micro_usd(settings: Any, model: str, prompt_tokens: int, completion_tokens: int) -> int:
    """The cost of one call in micro-dollars from the configured price table."""
    prices = settings.get("NEBULO_ASSISTANT_PRICES")
    input_price, output_price = prices.get(model, (Decimal(0), Decimal(0)))
    usd = (input_price * prompt_tokens + output_price * completion_tokens) / MICRO
    return int((usd * MICRO).quantize(Decimal(1), rounding=ROUND_HALF_UP))
