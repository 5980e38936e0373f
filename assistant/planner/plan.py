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

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from assistant.planner import policy, reply
from assistant.planner.choose import (
    LOOKUPS,
    as_asked,
    by_example,
    fit_metrics,
    fits_a_name,
    in_family,
    pick_metric,
    said,
    specific,
)
from assistant.planner.dialogue import (
    ANAPHORA,
    METRICS_TOOL,
    Query,
    State,
    is_follow_up,
    last_state,
    merge,
)
from assistant.planner.parse import Parsed, parse
from assistant.planner.route import MIN_SIMILARITY, capabilities, numbered, rank_tools
from assistant.planner.tooling import nearest, tool_step
from assistant.planner.turn import Step, Turn, key, ordinary, read_turn, refused
from assistant.planner.vocabulary import Vocabulary, stem, vocabulary, word_set
from assistant.providers.base import ChatMessage
from assistant.tools import Tool
from core.metrics.periods import Period
from core.metrics.registry import TIME_GRAINS, Metric

AMOUNT_CUES = word_set("many number count total much sum percent average avg how")
LIST_CUES = word_set("list show which who find search look lookup open details")
MAX_VALUE_READINGS = 4
SURE_TOOL = 0.5


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
    refusal = policy.refusal(turn.question)
    if refusal:
        return Step(refusal)
    offered = {tool.name: tool for tool in tools}
    words = vocabulary(metrics if METRICS_TOOL in offered else {})
    state = last_state(turn.history)
    parsed = _parse(turn.question, words, today, state.period if state else None)
    if METRICS_TOOL in turn.results and not refused(turn.results[METRICS_TOOL][1]):
        return Step(_metric_reply(turn, parsed, words))
    problem = parsed.compare_problem or (None if parsed.periods else parsed.period_problem)
    if parsed.unknown_measure and METRICS_TOOL in offered:
        problem = f"this project keeps no figure for “{parsed.unknown_measure}”"
    if problem:
        return Step(f"I can't answer that: {problem}. " + nearest(turn.question, tools, words))
    if parsed.order_reference is None and METRICS_TOOL in offered and not parsed.future:
        query = metric_query(parsed, state, words)
        if query is not None and _a_share_of_no_one(parsed, query, words, offered):
            parsed = replace(parsed, entity=None)  # "what % of chats did the bot close"
        if (
            query is not None
            and not _better_as_tool(parsed, turn.question, offered, words, query.picked)
            and (
                parsed.entity is None
                or _linkable(query.arguments, words, offered)
                or ordinary(turn.question, parsed.entity)
            )
        ):
            return _metric_step(turn, parsed, query, words, offered)

    return tool_step(turn, parsed, tools, words)


def _a_share_of_no_one(
    parsed: Parsed, query: Query, words: Vocabulary, offered: Mapping[str, Tool]
) -> bool:
    """A share asked of metrics no name can narrow: the words left over are not a name for
    a tool to look up."""
    metrics = [words.metrics[name] for name in query.arguments["metrics"]]
    return (
        parsed.share
        and not query.picked
        and all(m.unit == "percent" for m in metrics)
        and not _linkable(query.arguments, words, offered)
    )


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
    follow = parsed.names_something and is_follow_up(parsed, state)
    names = specific(parsed, words)
    if follow and state is not None and ANAPHORA & set(parsed.tokens):
        names = in_family(names, parsed, state.arguments.get("metrics", []), words)
    example = by_example(parsed.question, words)
    if example is not None and example not in names:
        names = [example]
    if not names and not follow:
        amount = bool(AMOUNT_CUES & set(parsed.tokens))
        named = parsed.entity is not None and (amount or bool(parsed.periods))
        if not (parsed.group_by or parsed.filters or named or (amount and parsed.periods)):
            return None
        picked = pick_metric(parsed, words, set(LOOKUPS) if named else set())
        if picked is None:
            return None
        names = [picked]
    if parsed.entity is not None and len(names) > 1:
        names = [n for n in names if fits_a_name([n], words)] or names
    query = merge(parsed, state if follow or not parsed.metrics else None, names)
    query.picked = not parsed.metrics and not follow
    query.arguments["metrics"] = as_asked(query.arguments["metrics"], parsed, words)
    _drop_named_filters(query.arguments, words)
    _use_aliases(query.arguments, words)
    kept = {item.partition(":")[0] for item in query.arguments.get("filters", [])}
    needed = [*query.arguments.get("group_by", []), *(d for d in parsed.filters if d in kept)]
    fitted = fit_metrics(query.arguments["metrics"], needed, words)
    if fitted is None:
        return None
    query.arguments["metrics"] = fitted
    _order_by_known(query.arguments)
    _drop_implied_filters(query.arguments, parsed, words)
    return query


def _drop_named_filters(arguments: dict[str, Any], words: Vocabulary) -> None:
    """A value the metric (or the part a share counts) is named or described with, on a
    dimension it lacks, is the metric itself: "the bot" of the share the bot solved, "a
    human" of the chats handed to one, not a filter."""
    metrics = [words.metrics[name] for name in arguments["metrics"]]
    parts = {stem(part) for m in metrics for part in m.name.split("_")}
    parts |= {w for m in metrics for w in said(words.metrics.get(m.numerator or "", m), words)}
    dimensions = {d for m in metrics for d in m.dimension_names}
    implied = {d for d, _, word in words.values if word in parts and d not in dimensions}
    kept = [f for f in arguments.get("filters", []) if f.partition(":")[0] not in implied]
    if kept:
        arguments["filters"] = kept
    else:
        arguments.pop("filters", None)


def _drop_implied_filters(arguments: dict[str, Any], parsed: Parsed, words: Vocabulary) -> None:
    """A filter kept from the question before, on a dimension one of the metrics is named
    after a value of ("cancelled ones?" after "pending orders": cancelled orders are never
    pending), is dropped."""
    named = {stem(part) for name in arguments["metrics"] for part in name.split("_")}
    implied = {dimension for dimension, _, word in words.values if word in named}
    kept = [
        item
        for item in arguments.get("filters", [])
        if item.partition(":")[0] not in implied - set(parsed.filters)
    ]
    if kept:
        arguments["filters"] = kept
    else:
        arguments.pop("filters", None)


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


def _better_as_tool(
    parsed: Parsed, question: str, offered: Mapping[str, Tool], words: Vocabulary, picked: bool
) -> bool:
    """ "show me the pending orders" lists orders (a tool); "how many pending orders" counts."""
    others = [t for t in offered.values() if t.name != METRICS_TOOL]
    if any(_numbered_for(tool, question) for tool in others):
        return True  # "the guests at table 4": the tool that takes table 4
    if _a_dated_thing(parsed, question, others, words):
        return True  # "send me last month's sales report": a report of the month, not a figure
    if picked and not parsed.direction and not parsed.periods:
        ranked = rank_tools(question, others)
        amount = AMOUNT_CUES & set(parsed.tokens)
        sure = SURE_TOOL if amount and not _only_a_tool_names(parsed, ranked, words) else 0
        return bool(ranked) and ranked[0][1] >= max(sure, MIN_SIMILARITY)
    metrics = [words.metrics[name] for name in parsed.metrics]
    only_things = metrics and all(m.unit == "count" for m in metrics)
    asks_amount = AMOUNT_CUES & set(parsed.tokens) or parsed.compare or parsed.group_by
    if not only_things or asks_amount or not LIST_CUES & set(parsed.tokens):
        return False
    ranked = rank_tools(question, others)
    return bool(ranked) and ranked[0][1] >= MIN_SIMILARITY


def _a_dated_thing(parsed: Parsed, question: str, others: list[Tool], words: Vocabulary) -> bool:
    """Whether the closest tool takes a period and is named for a word of the question that
    no metric knows: the period belongs to that thing (a report), not to a figure."""
    ranked = rank_tools(question, others)
    if not ranked or ranked[0][1] < MIN_SIMILARITY:
        return False
    tool = next(t for t in others if t.name == ranked[0][0])
    takes_period = any(p.name == "period" for p in tool.params)
    return takes_period and _only_a_tool_names(parsed, ranked, words)


def _numbered_for(tool: Tool, question: str) -> bool:
    """Whether the question gives the number a tool's required integer parameter names."""
    return any(
        p.required and p.schema.get("type") == "integer" and numbered(p.name, question)
        for p in tool.params
    )


def _only_a_tool_names(parsed: Parsed, ranked: list[tuple[str, float]], words: Vocabulary) -> bool:
    """Whether the closest tool is named for a word no metric knows ("how many pistachio
    cakes in stock" asks the product stock tool, not for items sold)."""
    if not ranked:
        return False
    named = {stem(part) for part in ranked[0][0].split("_")}
    return any(
        stem(t) in named and t not in words.known_set and stem(t) not in words.known_set
        for t in parsed.tokens
    )


def _metric_step(
    turn: Turn, parsed: Parsed, query: Query, words: Vocabulary, offered: Mapping[str, Tool]
) -> Step:
    arguments, entity = query.arguments, parsed.entity
    if entity is not None:
        linkable = _linkable(arguments, words, offered)
        linked = _link(turn, parsed, arguments, words, offered, query.picked) if linkable else None
        if isinstance(linked, Step):
            return linked
        if linked is not None and linked is not arguments:
            arguments = linked
        elif not turn.failed and (readings := _value_readings(arguments, entity, words)):
            # "female visitors", "shopify orders": no product or customer of that name but a
            # value of the project's own data, each dimension that may hold it asked at once
            # (the engine checks the value; the answer is the reading it accepts)
            return Step(calls=tuple((METRICS_TOOL, reading) for reading in readings))
        elif linked is None and linkable:
            return _not_found(turn, entity, linkable, offered, words)
        elif turn.failed and (
            not ordinary(turn.question, entity) or _named_with_kind(parsed, entity, words)
        ):
            # a name, or a word written with its kind ("the diamond tier"), that no dimension
            # holds: say so with the values that exist, never answer without it
            return Step(_metric_reply(turn, parsed, words))
    if key(arguments) in turn.failed:
        return Step(_metric_reply(turn, parsed, words))
    return Step(calls=((METRICS_TOOL, arguments),))


def _named_with_kind(parsed: Parsed, entity: str, words: Vocabulary) -> bool:
    """Whether ``entity`` is written beside a dimension's word ("diamond tier", "tier
    diamond"): a value asked for, not a word of the sentence."""
    stems, wanted = parsed.stems, stem(entity)
    metric_words = {phrase for phrase, _ in words.metric_phrases}
    kinds = {
        phrase
        for phrase, _ in words.dimension_phrases
        if len(phrase) == 1 and phrase not in metric_words  # "customers sit in ..." is no kind
    }
    return any(
        token == wanted and any((near,) in kinds for near in stems[max(at - 1, 0) : at + 2])
        for at, token in enumerate(stems)
    )


def _value_readings(
    arguments: dict[str, Any], entity: str, words: Vocabulary
) -> list[dict[str, Any]]:
    """The query with ``entity`` as the value of each dimension that may hold it, its metrics
    fitted to it ("bakery sales" is product revenue by category)."""
    readings = []
    for dimension in _open_dimensions(arguments, words)[:MAX_VALUE_READINGS]:
        fitted = fit_metrics(arguments["metrics"], [*_needed(arguments), dimension], words)
        kept = [f for f in arguments.get("filters", []) if not f.startswith(dimension + ":")]
        reading = {**arguments, "metrics": fitted, "filters": [*kept, f"{dimension}:{entity}"]}
        _order_by_known(reading)
        readings.append(reading)
    return readings


def _open_dimensions(arguments: dict[str, Any], words: Vocabulary) -> list[str]:
    """The dimensions, other than products and customers (found by lookups), whose values
    are the project's own (no fixed list), that the query's metrics or their siblings have:
    the metrics' own first."""
    own = [d for name in arguments["metrics"] for d in words.metrics[name].dimensions]
    others = [d for metric in words.metrics.values() for d in metric.dimensions]
    names = [d.name for d in own + others if d.values is None and d.name not in LOOKUPS]
    return [
        name
        for name in dict.fromkeys(names)
        if fit_metrics(arguments["metrics"], [*_needed(arguments), name], words) is not None
    ]


def _needed(arguments: dict[str, Any]) -> list[str]:
    """The dimensions the query groups or filters by."""
    filtered = [item.partition(":")[0] for item in arguments.get("filters", [])]
    return [*arguments.get("group_by", []), *filtered]


def _link(
    turn: Turn,
    parsed: Parsed,
    arguments: dict[str, Any],
    words: Vocabulary,
    offered: Mapping[str, Tool],
    picked: bool,
) -> dict[str, Any] | Step | None:
    """The query with the named product or customer as a filter, the step to find it, or
    None when neither exists (``arguments`` itself: a lower-case word that is no name)."""
    entity = parsed.entity or ""
    dimensions = _linkable(arguments, words, offered)
    if ordinary(turn.question, entity):
        dimensions = dimensions[:1]  # one lower-case word: a product, if anything
    found: dict[str, Any] = {}
    for dimension in dimensions:  # products first, then customers: one lookup at a time
        if LOOKUPS[dimension] not in turn.results:
            return Step(calls=((LOOKUPS[dimension], {"query": entity}),))
        found[dimension] = turn.results[LOOKUPS[dimension]][1]
        if isinstance(found[dimension], dict) and found[dimension].get("match"):
            break
    if (
        ordinary(turn.question, entity)
        and not picked
        and not any(isinstance(r, dict) and r.get("candidates") for r in found.values())
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
            linked["metrics"] = [pick_metric(parsed, words, {dimension}) or linked["metrics"][0]]
        filters = [f for f in arguments.get("filters", []) if not f.startswith(dimension + ":")]
        linked["filters"] = [*filters, f"{dimension}:{matched[dimension]['name']}"]
        _order_by_known(linked)
        return linked
    candidates = [
        c["name"] for r in found.values() if isinstance(r, dict) for c in r.get("candidates", [])
    ]
    if candidates:
        return Step(f"Which one do you mean by “{entity}”: {', '.join(candidates)}?")
    return None


def _not_found(
    turn: Turn, entity: str, dimensions: list[str], offered: Mapping[str, Tool], words: Vocabulary
) -> Step:
    kinds = " or ".join(dimensions[:1] if ordinary(turn.question, entity) else dimensions)
    return Step(
        f"I can't answer that: I found no {kinds} matching “{entity}” in this project. "
        + nearest(turn.question, list(offered.values()), words)
    )


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
