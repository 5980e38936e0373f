"""The dialogue state of a conversation: the last metrics query it ran, as stored with it.

Every turn's tool calls and results are stored with the conversation
(:class:`assistant.models.ConversationMessage`), so the state needs no table of its own: it is
the arguments of the last ``query_metrics`` call and the period its result states as dates.
A follow-up ("and the week before that?", "what about refunds?", "by channel") changes only
the slots it names; :func:`merge` keeps every other one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from assistant.planner.parse import Parsed
from assistant.providers.base import ChatMessage
from core.metrics.periods import (
    KINDS,
    RELATIVE,
    Period,
    is_unit_before,
    month_of,
    period_text,
    quarter_of,
    shift_period,
)

METRICS_TOOL = "query_metrics"
DEFAULT_PERIOD = "past 30 days"
FOLLOW_UP_OPENERS = (
    "and",
    "what about",
    "how about",
    "same for",
    "same but",
    "now",
    "also",
    "ok and",
    "then",
    "but",
)
ANAPHORA = frozenset({"those", "these", "them"})
QUESTION_WORDS = frozenset({"what", "which", "who", "when", "where", "how", "whats", "what's"})


@dataclass
class State:
    """The last metrics query of the conversation."""

    arguments: dict[str, Any]
    period: Period | None = None


@dataclass
class Query:
    """The arguments of the metrics tool a question resolves to, and how they were found."""

    arguments: dict[str, Any]
    defaulted_period: bool = False
    follow_up: bool = False
    picked: bool = False


def last_state(history: Sequence[ChatMessage]) -> State | None:
    """The last metrics query in ``history`` and the period its result gave."""
    results = {m.tool_call_id: m.content for m in history if m.role == "tool"}
    for message in reversed(history):
        for call in reversed(message.tool_calls):
            if call.name != METRICS_TOOL:
                continue
            state = State(dict(call.arguments))
            try:
                answer = json.loads(results.get(call.id) or "{}")
            except json.JSONDecodeError:
                answer = {}
            if isinstance(answer, dict) and isinstance(answer.get("period"), dict):
                state.period = period_from_dates(answer["period"])
            return state
    return None


def period_from_dates(stated: Mapping[str, str]) -> Period:
    """A period an answer stated as dates, with the calendar unit its dates make up."""
    start, end = date.fromisoformat(stated["start"]), date.fromisoformat(stated["end"])
    label = stated.get("label") or f"{start} to {end}"
    so_far = label.split()
    if len(so_far) == 2 and so_far[0] == "this" and so_far[1] in KINDS:
        kind = so_far[1]  # a unit so far: "this month" on its first day is no single day
    elif start == end:
        kind = "day"
    elif start.weekday() == 0 and end == start + timedelta(days=6):
        kind = "week"
    elif (
        start.day == 1
        and (start.year, start.month) == (end.year, end.month)
        and (end == month_of(start.year, start.month).end)
    ):
        kind = "month"
    elif (
        start.day == 1
        and start.month % 3 == 1
        and (end == quarter_of(start.year, (start.month - 1) // 3 + 1).end)
    ):
        kind = "quarter"
    elif (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        kind = "year"
    else:
        kind = "custom"
    return Period(start, end, label, kind)


def refers_back(parsed: Parsed) -> bool:
    """Whether the question opens as a follow-up ("what about orders?") or points at what
    was just answered ("how many of those...")."""
    opening = " ".join(parsed.tokens[:2])
    opens = any(opening == o or opening.startswith(o + " ") for o in FOLLOW_UP_OPENERS)
    return opens or bool(ANAPHORA & set(parsed.tokens))


def is_follow_up(parsed: Parsed, state: State | None) -> bool:
    """A question follows up when it says so, or names no figure and is elliptical ("by
    day?", "compared to last month?"); "which hour was busiest last week" names no figure
    either, but is a whole question and keeps nothing of the one before."""
    if state is None:
        return False
    return refers_back(parsed) or not (parsed.metrics or stands_alone(parsed))


def stands_alone(parsed: Parsed) -> bool:
    named = (parsed.periods, parsed.group_by, parsed.filters, parsed.direction)
    return bool(parsed.tokens) and parsed.tokens[0] in QUESTION_WORDS or sum(map(bool, named)) > 1


def merge(parsed: Parsed, state: State | None, metrics: list[str]) -> Query:
    """The metrics tool's arguments: what ``parsed`` names, the rest from ``state`` when the
    question follows up on it, else defaults."""
    follow_up = is_follow_up(parsed, state)
    before = state.arguments if follow_up and state else {}
    arguments: dict[str, Any] = {"metrics": metrics or list(before.get("metrics", []))}
    defaulted = False
    compared = _comparison_named(parsed, state) if follow_up else None
    if parsed.period is not None and compared is None:
        period, text = parsed.period
        arguments["period"] = period_text(period) if RELATIVE.match(text) else text
    elif "period" in before:
        arguments["period"] = before["period"]
    else:
        arguments["period"], defaulted = DEFAULT_PERIOD, True
    filters = {item.partition(":")[0]: item for item in before.get("filters", []) if ":" in item}
    for dimension, values in parsed.filters.items():
        filters[dimension] = f"{dimension}:{','.join(values)}"
    if filters:
        arguments["filters"] = list(filters.values())
    group_by = parsed.group_by or before.get("group_by", [])
    if group_by:
        arguments["group_by"] = list(group_by)
        _order(arguments, parsed, before)
    compare = compared or parsed.compare or (before.get("compare") if follow_up else None)
    if compare:
        arguments["compare"] = compare
    return Query(arguments, defaulted, follow_up)


def _comparison_named(parsed: Parsed, state: State | None) -> str | None:
    """ "compared to last month?" after a question about this month: the comparison, not a
    new period."""
    if state is None or state.period is None or parsed.period is None or not parsed.compare:
        return None
    period = parsed.period[0]
    if is_unit_before(state.period, period):
        return "previous_period"
    for how in ("previous_period", "previous_year"):
        shifted = shift_period(state.period, how)
        if (shifted.start, shifted.end) == (period.start, period.end):
            return how
    return None


def _order(arguments: dict[str, Any], parsed: Parsed, before: Mapping[str, Any]) -> None:
    if not parsed.group_by:
        for key in ("order", "limit"):
            if key in before:
                arguments[key] = before[key]
        if "order" in arguments and arguments["order"].lstrip("-") in before.get("metrics", []):
            sign = "-" if arguments["order"].startswith("-") else ""
            arguments["order"] = sign + arguments["metrics"][0]
        return
    if parsed.direction is None:
        return
    arguments["order"] = ("-" if parsed.direction == "desc" else "") + arguments["metrics"][0]
    arguments["limit"] = parsed.limit or (1 if parsed.singular else 5)
