"""The offline planner's turn: from the conversation so far to the next step, either tool calls
to make or the answer.

A turn is worked out again at every step from what is stored (the question, the earlier turns,
the results already in): refuse, or read the question (:mod:`.parse`) and either build a
metrics query (:mod:`.dialogue`, linking names with the lookup tools first) or pick a plugin's
tool (:mod:`.route`); once the results are in, write the answer (:mod:`.reply`). When the
question cannot be read with confidence it says what it could not answer and the nearest
question it can; it never answers another question instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rapidfuzz import fuzz, process

from assistant.planner import policy, reply
from assistant.planner.dialogue import METRICS_TOOL, Query, State, last_state, merge
from assistant.planner.parse import Parsed, parse
from assistant.planner.route import MIN_SIMILARITY, capabilities, extract_arguments, rank_tools
from assistant.planner.vocabulary import (
    FILLER,
    GROUP_CUES,
    PERIOD_GLUE,
    PERIOD_WORDS,
    Vocabulary,
    phrase,
    stem,
    vocabulary,
    word_set,
)
from assistant.providers.base import ChatMessage
from assistant.tools import Tool
from core.metrics.periods import Period
from core.metrics.registry import TIME_GRAINS, Metric

LOOKUPS = {"product": "lookup_product", "customer": "lookup_customer"}
AMOUNT_CUES = word_set("many number count total much sum percent average avg how")
LIST_CUES = word_set("list show which who find search look lookup open details")
NAME_PARAMETERS = ("customer", "product", "query", "name", "search", "q")
SUGGESTIONS = 3
EXAMPLE_SCORE = 88
SURE_TOOL = 0.5
IGNORED = FILLER | PERIOD_WORDS | PERIOD_GLUE | GROUP_CUES


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
            turn.results[call.name] = (call.arguments, result)
    return turn


def next_step(
    messages: Sequence[ChatMessage],
    tools: Sequence[Tool],
    metrics: Mapping[str, Metric],
    today: date,
) -> Step:
    """What to do next in the turn the last user message opened."""
    turn = read_turn(messages)
    if not tools:
        return Step("I can't answer that from this project's data.\n" + capabilities(tools))
    refused = policy.refusal(turn.question)
    if refused:
        return Step(refused)
    offered = {tool.name: tool for tool in tools}
    words = vocabulary(metrics if METRICS_TOOL in offered else {})
    state = last_state(turn.history)
    parsed = _parse(turn.question, words, today, state.period if state else None)
    if METRICS_TOOL in turn.results:
        return Step(_metric_reply(turn, parsed, words))
    problem = parsed.compare_problem or (None if parsed.periods else parsed.period_problem)
    if problem:
        return Step(f"I can't answer that: {problem}. " + _nearest(turn.question, tools, words))
    if parsed.order_reference is None and METRICS_TOOL in offered:
        query = metric_query(parsed, state, words)
        if (
            query is not None
            and not _better_as_tool(parsed, turn.question, offered, words, query.picked)
            and (
                parsed.entity is None
                or _linkable(query.arguments, words, offered)
                or _ordinary(turn.question, parsed.entity)
            )
        ):
            return _metric_step(turn, parsed, query, words, offered)

    return _tool_step(turn, parsed, tools, words)


_PARSED: dict[tuple[Any, ...], Parsed] = {}
PARSED_KEPT = 256


def _parse(question: str, words: Vocabulary, today: date, previous: Period | None) -> Parsed:
    """:func:`parse`, once per turn: the planner is asked again after each tool result."""
    key = (question, id(words), today, previous)
    if key not in _PARSED:
        if len(_PARSED) >= PARSED_KEPT:
            _PARSED.clear()
        _PARSED[key] = parse(question, words, today, previous)
    return _PARSED[key]


def metric_query(parsed: Parsed, state: State | None, words: Vocabulary) -> Query | None:
    """The metrics query the question asks for, or None when it asks for no figure."""
    follow = (
        state is not None
        and parsed.names_something
        and (not parsed.metrics or parsed.tokens[:1] == ["and"])
    )
    names = _specific(parsed, words)
    example = _by_example(parsed.question, words)
    if example is not None and example not in names:
        names = [example]
    if not names and not follow:
        amount = bool(AMOUNT_CUES & set(parsed.tokens))
        named = parsed.entity is not None and (amount or bool(parsed.periods))
        if not (parsed.group_by or parsed.filters or named or (amount and parsed.periods)):
            return None
        picked = _pick_metric(parsed, words, set(LOOKUPS) if named else set())
        if picked is None:
            return None
        names = [picked]
    if parsed.entity is not None and len(names) > 1:
        names = [n for n in names if _fits_a_name([n], words)] or names
    query = merge(parsed, state if follow or not parsed.metrics else None, names)
    query.picked = not parsed.metrics and not follow
    _use_aliases(query.arguments, words)
    needed = [*query.arguments.get("group_by", []), *parsed.filters]
    fitted = fit_metrics(query.arguments["metrics"], needed, words)
    if fitted is None:
        return None
    query.arguments["metrics"] = fitted
    _order_by_known(query.arguments)
    return query


def _use_aliases(arguments: dict[str, Any], words: Vocabulary) -> None:
    """Each group-by dimension as the first metric names it ("channel", not "provider")."""
    metric = words.metrics.get(arguments["metrics"][0]) if arguments["metrics"] else None
    if metric is None:
        return
    own = set(metric.dimension_names)
    arguments["group_by"] = [
        name if name in own else next(iter(sorted(words.aliases.get(name, set()) & own)), name)
        for name in arguments.get("group_by", [])
    ] or arguments.pop("group_by", [])
    if not arguments["group_by"]:
        del arguments["group_by"]


def _order_by_known(arguments: dict[str, Any]) -> None:
    """Point ``order`` at the query's first metric when the metric it named was replaced."""
    order = arguments.get("order")
    if order and order.lstrip("-") not in (*arguments["metrics"], *arguments.get("group_by", [])):
        arguments["order"] = ("-" if order.startswith("-") else "") + arguments["metrics"][0]


def _specific(parsed: Parsed, words: Vocabulary) -> list[str]:
    """The metrics named, the generic one left out when a specific one names it too
    ("customers at risk" is not also "customers"), a count read as its amount after "how
    much" ("how much did we refund")."""
    names = [
        n
        for n in parsed.metrics
        if not any(n != other and n in other.split("_") for other in parsed.metrics)
    ]
    if "much" not in parsed.tokens or "many" in parsed.tokens:
        return names
    amounts = []
    for name in names:
        parts = set(name.split("_")) - {"orders", "messages", "customers"}
        money = [
            m.name
            for m in words.metrics.values()
            if m.unit == "money" and parts & set(m.name.split("_"))
        ]
        unit = words.metrics[name].unit
        amounts.append(money[0] if unit == "count" and money else name)
    return amounts


def _by_example(question: str, words: Vocabulary) -> str | None:
    """The metric one of whose example questions is nearly this question."""
    if not words.examples:
        return None
    found = process.extractOne(
        question.lower(), words.examples, scorer=fuzz.token_sort_ratio, score_cutoff=EXAMPLE_SCORE
    )
    return words.example_metrics[found[2]] if found else None


def fit_metrics(names: list[str], needed: Sequence[str], words: Vocabulary) -> list[str] | None:
    """Each metric, or its sibling of the same unit that has every ``needed`` dimension
    (revenue by product is ``product_revenue``); None when one has none."""
    fitted = []
    for name in names:
        metric = words.metrics.get(name)
        if metric is None:
            return None
        if set(needed) <= set(metric.dimension_names):
            fitted.append(name)
            continue
        siblings = [
            m
            for m in words.metrics.values()
            if m.unit == metric.unit and set(needed) <= set(m.dimension_names)
        ]
        if not siblings:
            return None
        parts = set(name.split("_"))
        best = max(siblings, key=lambda m: (len(parts & set(m.name.split("_"))), -len(m.name)))
        if not parts & set(best.name.split("_")):
            return None
        fitted.append(best.name)
    return fitted


def _pick_metric(parsed: Parsed, words: Vocabulary, any_of: set[str]) -> str | None:
    """For "top 5 products this month": the metric with those dimensions (and one of
    ``any_of``, when given) whose words, label and examples share most with the question."""
    needed = set(parsed.group_by) | set(parsed.filters)
    asked = {stem(t) for t in parsed.tokens if t not in IGNORED}
    tokens = set(parsed.tokens)
    best, best_score = None, -1
    for metric in words.metrics.values():
        dimensions = set(metric.dimension_names)
        if not needed <= dimensions or metric.measure == "ratio":
            continue
        if any_of and not any_of & dimensions:
            continue
        described = {
            w for text in (*metric.words, metric.label, *metric.examples) for w in phrase(text)
        }
        score = 2 * len(asked & described) + (
            ("many" in tokens and metric.unit == "count")
            or (bool({"much", "money"} & tokens) and metric.unit == "money")
        )
        if not any_of:
            score += 2 * (metric.measure == "count" and "_" not in metric.name)  # the base one
        if score > best_score:
            best, best_score = metric.name, score
    return best if best_score > 2 or parsed.group_by or any_of else None


def _fits_a_name(names: list[str], words: Vocabulary) -> bool:
    return any(fit_metrics(names, [d], words) is not None for d in LOOKUPS)


def _better_as_tool(
    parsed: Parsed, question: str, offered: Mapping[str, Tool], words: Vocabulary, picked: bool
) -> bool:
    """ "show me the pending orders" lists orders (a tool); "how many pending orders" counts."""
    others = [t for t in offered.values() if t.name != METRICS_TOOL]
    if picked and not parsed.direction and not parsed.periods:
        ranked = rank_tools(question, others)
        amount = AMOUNT_CUES & set(parsed.tokens)
        return bool(ranked) and ranked[0][1] >= (SURE_TOOL if amount else MIN_SIMILARITY)
    metrics = [words.metrics[name] for name in parsed.metrics]
    only_things = metrics and all(m.unit == "count" for m in metrics)
    asks_amount = AMOUNT_CUES & set(parsed.tokens) or parsed.compare or parsed.group_by
    if not only_things or asks_amount or not LIST_CUES & set(parsed.tokens):
        return False
    ranked = rank_tools(question, others)
    return bool(ranked) and ranked[0][1] >= MIN_SIMILARITY


def _metric_step(
    turn: Turn, parsed: Parsed, query: Query, words: Vocabulary, offered: Mapping[str, Tool]
) -> Step:
    arguments = query.arguments
    if parsed.entity is not None and _linkable(arguments, words, offered):
        linked = _link(turn, parsed, arguments, words, offered, query.picked)
        if isinstance(linked, Step):
            return linked
        arguments = linked
    elif parsed.entity is not None and (dimension := _open_dimension(arguments, words)):
        # "members in the gold tier": a value of the project's own data (tiers are per
        # project), which the engine checks; never dropped to answer a wider question
        filters = [*arguments.get("filters", []), f"{dimension}:{parsed.entity}"]
        arguments = {**arguments, "filters": filters}
    return Step(calls=((METRICS_TOOL, arguments),))


def _open_dimension(arguments: dict[str, Any], words: Vocabulary) -> str | None:
    """The one dimension, other than products and customers (found by lookups), whose values
    are the project's own (no fixed list) and that every metric of the query has."""
    metrics = [words.metrics.get(name) for name in arguments["metrics"]]
    if not metrics or None in metrics:
        return None
    shared = set.intersection(
        *(
            {d.name for d in metric.dimensions if d.values is None and d.name not in LOOKUPS}
            for metric in metrics
        )
    )
    return next(iter(shared)) if len(shared) == 1 else None


def _link(
    turn: Turn,
    parsed: Parsed,
    arguments: dict[str, Any],
    words: Vocabulary,
    offered: Mapping[str, Tool],
    picked: bool,
) -> dict[str, Any] | Step:
    """The query with the named product or customer as a filter, or the step to find it."""
    entity = parsed.entity or ""
    dimensions = _linkable(arguments, words, offered)
    if _ordinary(turn.question, entity):
        dimensions = dimensions[:1]  # one lower-case word: a product, if anything
    found: dict[str, Any] = {}
    for dimension in dimensions:  # products first, then customers: one lookup at a time
        if LOOKUPS[dimension] not in turn.results:
            return Step(calls=((LOOKUPS[dimension], {"query": entity}),))
        found[dimension] = turn.results[LOOKUPS[dimension]][1]
        if isinstance(found[dimension], dict) and found[dimension].get("match"):
            break
    if _ordinary(turn.question, entity) and not any(
        isinstance(r, dict) and r.get("candidates") for r in found.values()
    ):
        return arguments
    matched = {d: r["match"] for d, r in found.items() if isinstance(r, dict) and r.get("match")}
    if matched:
        dimension = (
            "customer" if "customer" in matched and len(matched) == 1 else next(iter(matched))
        )
        linked = dict(arguments)
        linked["metrics"] = fit_metrics(arguments["metrics"], [dimension], words)
        if picked:
            linked["metrics"] = [_pick_metric(parsed, words, {dimension}) or linked["metrics"][0]]
        filters = [f for f in arguments.get("filters", []) if not f.startswith(dimension + ":")]
        linked["filters"] = [*filters, f"{dimension}:{matched[dimension]['name']}"]
        _order_by_known(linked)
        return linked
    candidates = [
        c["name"] for r in found.values() if isinstance(r, dict) for c in r.get("candidates", [])
    ]
    if candidates:
        return Step(f"Which one do you mean by “{entity}”: {', '.join(candidates)}?")
    kinds = " or ".join(dimensions)
    return Step(
        f"I can't answer that: I found no {kinds} matching “{entity}” in this project. "
        + _nearest(turn.question, list(offered.values()), words)
    )


def _ordinary(question: str, entity: str) -> bool:
    """One lower-case word, as typed: a word of the question rather than a name, unless a
    lookup finds it ("placed", "typical" are not products; "croissants" is)."""
    return entity.isalpha() and entity.islower() and entity in question


def _linkable(
    arguments: dict[str, Any], words: Vocabulary, offered: Mapping[str, Tool]
) -> list[str]:
    """The dimensions (product, customer) a name could filter the query's metrics by."""
    return [
        d
        for d, tool in LOOKUPS.items()
        if tool in offered and fit_metrics(arguments["metrics"], [d], words) is not None
    ]


def _metric_reply(turn: Turn, parsed: Parsed, words: Vocabulary) -> str:
    arguments, result = turn.results[METRICS_TOOL]
    if not isinstance(result, dict):
        return f"I could not get that figure: {result}"
    chosen = [words.metrics[n] for n in arguments.get("metrics", []) if n in words.metrics]
    labels = {m.name: m.label for m in chosen}
    dimension_labels = {grain: grain.capitalize() for grain in TIME_GRAINS}
    dimension_labels |= {d.name: d.label for m in chosen for d in m.dimensions}
    dated = any(m.time_column is not None for m in chosen)
    return reply.metric_answer(
        result,
        labels,
        dimension_labels,
        dated,
        arguments.get("filters", []),
        ascending="order" in arguments and not arguments["order"].startswith("-"),
    )


def _tool_step(turn: Turn, parsed: Parsed, tools: Sequence[Tool], words: Vocabulary) -> Step:
    candidates = [t for t in tools if t.name != METRICS_TOOL]
    ranked = rank_tools(turn.question, candidates)
    if not ranked or ranked[0][1] < MIN_SIMILARITY:
        return Step(
            "I can't answer that from this project's data. " + _nearest(turn.question, tools, words)
        )
    first = _tool_call(turn, parsed, tools, next(t for t in candidates if t.name == ranked[0][0]))
    if not first.missing or not all(name.endswith(" id") for name in first.missing):
        return first
    # An internal id nobody types ("the 3 customers most at risk" is not one customer's risk):
    # the next tool, when it needs nothing the question lacks.
    for name, score in ranked[1:2]:
        step = _tool_call(turn, parsed, tools, next(t for t in candidates if t.name == name))
        if score >= MIN_SIMILARITY and not step.missing:
            return step
    return first


def _tool_call(turn: Turn, parsed: Parsed, tools: Sequence[Tool], tool: Tool) -> Step:
    """The call of ``tool`` with what the question gives, or why it cannot be made."""
    if tool.name in turn.results:
        return Step(reply.tool_answer(tool.name, *turn.results[tool.name]))
    arguments = extract_arguments(tool, turn.question)
    if parsed.limit and "limit" in {p.name for p in tool.params}:
        arguments.setdefault("limit", parsed.limit)
    for param in tool.params:
        typed = arguments.get(param.name)
        if (
            isinstance(typed, str)
            and parsed.entity
            and parsed.entity.startswith(typed)
            and parsed.entity[len(typed) :].strip().isdigit()
        ):
            arguments[param.name] = parsed.entity  # "Hill 2", not "Hill"
        if param.name in arguments or parsed.entity is None:
            continue
        if _ordinary(turn.question, parsed.entity) and param.name != "product":
            continue  # "grinder" may be a product; "poem" is no customer
        if param.name in NAME_PARAMETERS and param.schema.get("type") == "string":
            arguments[param.name] = parsed.entity
        elif param.name == "customer_id" and "lookup_customer" in {t.name for t in tools}:
            found = turn.results.get("lookup_customer")
            if found is None:
                return Step(calls=(("lookup_customer", {"query": parsed.entity}),))
            match = found[1].get("match") if isinstance(found[1], dict) else None
            if match is None:
                return Step(reply.tool_answer("lookup_customer", found[0], found[1]))
            arguments["customer_id"] = match["id"]
    missing = [
        p.name.replace("_", " ") for p in tool.params if p.required and p.name not in arguments
    ]
    if missing:
        needed = ", ".join(missing)
        return Step(
            f"I can't answer that yet: I need the {needed}. Which one do you mean?",
            missing=tuple(missing),
        )
    return Step(calls=((tool.name, arguments),))


def _nearest(question: str, tools: Sequence[Tool], words: Vocabulary) -> str:
    """The questions this project can answer that are closest to ``question``."""
    examples = [e for t in tools for e in t.examples if t.name != METRICS_TOOL]
    examples += [e for m in words.metrics.values() for e in m.examples]
    if not examples:
        return capabilities(tools)
    near = process.extract(question, examples, scorer=fuzz.token_set_ratio, limit=SUGGESTIONS)
    listed = "\n".join(f"- {example}" for example, _, _ in near)
    return "The nearest questions I can answer:\n" + listed
