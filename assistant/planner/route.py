"""Routing to a plugin's tool when the question is not about a figure: the tool whose name,
description and example questions are most similar to the question (TF-IDF over word and
character n-grams, cosine similarity), its arguments read from the text with patterns per
parameter (order numbers, UUIDs, emails, names, dates, "last N days", amounts, limits, enum
values), and a plain answer written from the tool's result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from assistant.tools import Tool

MIN_SIMILARITY = 0.12
MAX_ROWS = 10

UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
ISO_DATE_RE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
ORDER_NUMBER_RE = re.compile(
    r"(?:order\s*(?:number|no\.?|#)?\s*#?|#)\s*([A-Za-z]{0,4}-?\d{2,})", re.I
)
PERIOD_RE = re.compile(
    r"\b(?:last|past|previous|next|coming|over the last|in the last)\s+(\d+)\s+"
    r"(day|week|month|year)s?\b",
    re.I,
)
NAMED_PERIODS = (
    (re.compile(r"\btoday\b", re.I), 1),
    (re.compile(r"\byesterday\b", re.I), 2),
    (re.compile(r"\b(?:last|past|this|previous|next|coming) week\b", re.I), 7),
    (re.compile(r"\b(?:last|past|this|previous|next|coming) month\b", re.I), 30),
    (re.compile(r"\b(?:last|past|this|previous) quarter\b", re.I), 90),
    (re.compile(r"\b(?:last|past|this|previous) year\b", re.I), 365),
)
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
LIMIT_RE = re.compile(
    r"\b(?:top|first|limit|best|worst|largest|biggest)\s+(\d{1,4})\b|\b(\d{1,4})\s+(?:most|top|biggest|largest|best|worst|[a-z]+iest)\b",
    re.I,
)
AMOUNT_RE = re.compile(
    r"(?:[$€£]\s*(\d+(?:[.,]\d{1,2})?)|(\d+(?:\.\d{1,2})?)\s*(?:usd|eur|dollars|euros)\b)", re.I
)
MIN_AMOUNT_RE = re.compile(
    r"\b(?:over|above|more than|at least|greater than|>=?)\s*[$€£]?\s*(\d+(?:\.\d{1,2})?)", re.I
)
MAX_AMOUNT_RE = re.compile(
    r"\b(?:under|below|less than|at most|<=?)\s*[$€£]?\s*(\d+(?:\.\d{1,2})?)", re.I
)
QUOTED_RE = re.compile(r"[\"“']([^\"”']{2,80})[\"”']")
SKU_RE = re.compile(r"\b[A-Z]{2,}-\d+\b")
CAPITALIZED_RE = re.compile(r"(?<=\w\s)((?:[A-Z][\w'-]+)(?:\s+[A-Z][\w'-]+){0,3})")
NAMED_RE = re.compile(
    r"\b(?:named|called|customer|client|for|from|of|by)\s+((?:[A-Z][\w'-]+)(?:\s+[A-Z][\w'-]+){0,3})"
)


def _words(text: str) -> str:
    return text.replace("_", " ").lower()


KEPT_WORDS = {
    "how",
    "many",
    "much",
    "most",
    "my",
    "mine",
    "where",
    "who",
    "which",
    "last",
    "top",
    "few",
    "less",
    "more",
}
STOP_WORDS = (ENGLISH_STOP_WORDS - KEPT_WORDS) | {"like", "likes"}
SUFFIXES = ("iest", "ing", "ers", "ies", "est", "ed", "es", "er", "ly", "s")
SYNONYMS = {"client": "customer", "clients": "customers", "buyer": "customer"}


def _stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _content_words(text: str) -> list[str]:
    """Lower-cased words without stop words, lightly stemmed ("churning" -> "churn")."""
    return [
        _stem(SYNONYMS.get(w, w))
        for w in re.findall(r"[a-z]+", _words(text))
        if w not in STOP_WORDS and len(w) > 1
    ]


def _terms(text: str) -> list[str]:
    """Content words and their pairs ("how many" says count, "my order" says own orders)."""
    words = _content_words(text)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def _topic_words(text: str) -> frozenset[str]:
    """Words that carry a topic; a question must share one with a tool to be answered by it."""
    return frozenset(w for w in _content_words(text) if w not in KEPT_WORDS)


@dataclass(frozen=True)
class ToolIndex:
    """TF-IDF over content words (what decides) and character n-grams (typos, word forms)."""

    words: TfidfVectorizer
    chars: TfidfVectorizer
    word_matrix: Any
    char_matrix: Any
    names: tuple[str, ...]
    topics: tuple[frozenset[str], ...]


@lru_cache(maxsize=64)
def _index(documents: tuple[tuple[str, str], ...]) -> ToolIndex:
    """Fit once per tool set: one document per (tool, description or example)."""
    texts = [text for _, text in documents]
    words = TfidfVectorizer(analyzer=_terms, sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    return ToolIndex(
        words,
        chars,
        words.fit_transform(texts),
        chars.fit_transform(texts),
        tuple(name for name, _ in documents),
        tuple(_topic_words(text) for text in texts),
    )


def _documents(tools: Sequence[Tool]) -> tuple[tuple[str, str], ...]:
    documents = []
    for tool in tools:
        documents.append((tool.name, _words(f"{tool.name} {tool.description}")))
        documents.extend((tool.name, _words(example)) for example in tool.examples)
    return tuple(documents)


WORD_WEIGHT = 0.75


def rank_tools(question: str, tools: Sequence[Tool]) -> list[tuple[str, float]]:
    """Tools by similarity to ``question``, best first; 0 when no content word is shared."""
    if not tools:
        return []
    index = _index(_documents(tools))
    text = _words(question)
    word_scores = (index.word_matrix @ index.words.transform([text]).T).toarray().ravel()
    char_scores = (index.char_matrix @ index.chars.transform([text]).T).toarray().ravel()
    topics = _topic_words(text)
    best: dict[str, float] = {}
    for name, word, char, shared in zip(
        index.names, word_scores, char_scores, index.topics, strict=True
    ):
        score = WORD_WEIGHT * word + (1 - WORD_WEIGHT) * char if topics & shared else 0.0
        best[name] = max(best.get(name, 0.0), float(score))
    return sorted(best.items(), key=lambda item: item[1], reverse=True)


def _days(text: str) -> int | None:
    match = PERIOD_RE.search(text)
    if match:
        return int(match.group(1)) * UNIT_DAYS[match.group(2).lower()]
    for pattern, days in NAMED_PERIODS:
        if pattern.search(text):
            return days
    return None


def _number(raw: str) -> float:
    return float(raw.replace(",", "."))


def _name(text: str) -> str | None:
    """A quoted phrase, an email, a SKU, or capitalized words ("called Anna Hargrave")."""
    quoted = QUOTED_RE.search(text)
    if quoted:
        return quoted.group(1).strip()
    for pattern in (EMAIL_RE, SKU_RE):
        found = pattern.search(text)
        if found:
            return found.group(0)
    named = NAMED_RE.search(text) or CAPITALIZED_RE.search(text)
    return named.group(1).strip() if named else None


NUMBER_MARK = r"(?:#|no\.?|nr\.?|num(?:ber)?\.?)?"


@lru_cache(maxsize=64)
def _numbered(name: str) -> re.Pattern[str]:
    """The number written after the thing an integer parameter counts: ``table_number``
    is read from "table 3", "table #3", "table no. 3" or "tbl 3"."""
    nouns = [part for part in name.split("_") if part not in ("number", "no", "id", "num")]
    forms = {form for noun in nouns for form in (noun, re.sub(r"(?<=.)[aeiou]", "", noun))}
    alternatives = "|".join(sorted(map(re.escape, forms), key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})s?\s*{NUMBER_MARK}\s*(\d+)\b", re.I)


def numbered(name: str, text: str) -> int | None:
    """The number ``text`` gives the integer parameter ``name`` ("table 3")."""
    found = _numbered(name).search(text)
    return int(found.group(1)) if found else None


def extract_arguments(tool: Tool, text: str, today: date | None = None) -> dict[str, Any]:
    """The arguments of ``tool`` that can be read from ``text``; others are left to defaults."""
    today = today or date.today()
    arguments: dict[str, Any] = {}
    dates = ISO_DATE_RE.findall(text)
    uuids = UUID_RE.findall(text)
    for param in tool.params:
        name, schema = param.name.lower(), param.schema
        kind, fmt = schema.get("type"), schema.get("format")
        value: Any = None
        if "enum" in schema:
            value = next(
                (
                    v
                    for v in schema["enum"]
                    if re.search(rf"\b{re.escape(_words(str(v)))}\b", _words(text))
                ),
                None,
            )
        elif "enum" in schema.get("items", {}):
            value = [
                v
                for v in schema["items"]["enum"]
                if re.search(rf"\b{re.escape(_words(str(v)))}\b", _words(text))
            ] or None
        elif fmt == "uuid" or (name.endswith("_id") and uuids):
            value = uuids[0] if uuids else None
        elif "email" in name:
            found = EMAIL_RE.search(text)
            value = found.group(0) if found else None
        elif "order" in name and ("number" in name or name.endswith("id") or name == "order"):
            found = ORDER_NUMBER_RE.search(text)
            value = found.group(1) if found else None
        elif name in ("days", "period_days", "window_days", "last_days") or name.endswith("_days"):
            value = _days(text)
        elif fmt in ("date", "date-time"):
            start = any(word in name for word in ("start", "since", "from", "after", "begin"))
            end = any(word in name for word in ("end", "until", "to", "before"))
            if dates:
                value = dates[-1] if end and len(dates) > 1 else dates[0]
            elif start and _days(text):
                value = (today - timedelta(days=_days(text))).isoformat()
            elif end and not start:
                value = None
        elif kind == "integer" and name in ("limit", "top", "n", "count", "max_results", "top_n"):
            found = LIMIT_RE.search(text)
            value = int(found.group(1) or found.group(2)) if found else None
        elif kind == "integer":
            value = numbered(name, text)
        elif kind == "number":
            found = None
            if name.startswith("min") or "over" in name or "threshold" in name:
                found = MIN_AMOUNT_RE.search(text)
            elif name.startswith("max"):
                found = MAX_AMOUNT_RE.search(text)
            found = found or AMOUNT_RE.search(text)
            if found:
                value = _number(next(group for group in found.groups() if group))
        elif kind == "string" and (
            "name" in name or name in ("query", "search", "q", "customer", "product", "sku")
        ):
            value = _name(text)
        if value is None:
            continue
        if kind == "integer" and not isinstance(value, int):
            digits = re.sub(r"\D", "", str(value))
            if not digits:
                continue
            value = int(digits)
        arguments[param.name] = value
    return arguments


def capabilities(tools: Sequence[Tool]) -> str:
    if not tools:
        return "No tools are available to you in this project, so I cannot look anything up."
    lines = []
    for tool in sorted(tools, key=lambda t: t.name):
        example = tool.examples[0] if tool.examples else tool.description.splitlines()[0]
        lines.append(f"- {example}")
    return "I can answer questions like:\n" + "\n".join(lines)


def _label(row: dict[str, Any]) -> str:
    for key in ("name", "title", "order_number", "number", "email", "sku"):
        if row.get(key) not in (None, ""):
            return str(row[key])
    return ""


def scalar_text(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    if isinstance(value, str) and ISO_TIME_RE.match(value):
        return value[:16].replace("T", " ")
    if isinstance(value, float):
        return f"{value:,.2f}" if not value.is_integer() else f"{int(value):,}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


HIDDEN_KEYS = ("created_at", "updated_at", "last_updated")
ISO_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _shown(key: str) -> bool:
    """Internal ids and bookkeeping times say nothing to the person asking."""
    return key != "id" and not key.endswith("_id") and key not in HIDDEN_KEYS


def _row(row: Any) -> str:
    if not isinstance(row, dict):
        return scalar_text(row)
    label = _label(row)
    details = ", ".join(
        f"{key.replace('_', ' ')}: {scalar_text(value)}"
        for key, value in row.items()
        if value is not None
        and not isinstance(value, (dict, list))
        and str(value) != label
        and _shown(key)
    )
    return f"{label} ({details})" if label and details else label or details


def _rows(key: str, rows: list[Any]) -> str:
    if not rows:
        return "" if key == "candidates" else f"No {key.replace('_', ' ')} found."
    shown = [f"- {_row(row)}" for row in rows[:MAX_ROWS]]
    more = f"\n…and {len(rows) - MAX_ROWS} more." if len(rows) > MAX_ROWS else ""
    return f"{len(rows)} {key.replace('_', ' ')}:\n" + "\n".join(shown) + more


def write_answer(tool_name: str, arguments: dict[str, Any], result: Any) -> str:
    """A factual answer built only from the tool's result."""
    if isinstance(result, dict) and set(result) == {"error"}:
        return f"I could not get that ({tool_name.replace('_', ' ')}): {result['error']}"
    heading = tool_name.replace("_", " ").capitalize()
    shown = {k: v for k, v in arguments.items() if _shown(k)}
    if shown:
        heading += " (" + ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in shown.items()) + ")"
    if isinstance(result, list):
        return f"{heading}: " + _rows("results", result)
    if not isinstance(result, dict):
        return f"{heading}: {scalar_text(result)}"
    if isinstance(result.get("summary"), str):
        return result["summary"]
    facts, sections = [], []
    for key, value in result.items():
        if isinstance(value, list):
            sections.append(_rows(key, value))
        elif isinstance(value, dict):
            sections.append(f"{key.replace('_', ' ').capitalize()}: {_row(value)}")
        elif value is not None and _shown(key):
            facts.append(f"{key.replace('_', ' ')}: {scalar_text(value)}")
    text = heading + (": " + "; ".join(facts) + "." if facts else ":")
    return "\n".join([text, *(section for section in sections if section)])
