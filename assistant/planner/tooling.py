"""The step when the question is for a plugin's tool rather than a figure: the closest tools
(:func:`.route.rank_tools`), the one that can be called with what the question gives, its
arguments read from the text and the parsed question."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process

from assistant.planner import reply
from assistant.planner.dialogue import METRICS_TOOL
from assistant.planner.parse import Parsed
from assistant.planner.route import MIN_SIMILARITY, capabilities, extract_arguments, rank_tools
from assistant.planner.turn import Step, Turn, ordinary
from assistant.planner.vocabulary import Vocabulary
from assistant.tools import Tool

NAME_PARAMETERS = ("customer", "product", "query", "name", "search", "q")
NAMED = frozenset({*NAME_PARAMETERS, "customer_id"})
CUSTOMER = frozenset({"customer", "customer_id"})
TOOL_CHOICES = 3
SUGGESTIONS = 3


def tool_step(turn: Turn, parsed: Parsed, tools: Sequence[Tool], words: Vocabulary) -> Step:
    candidates = [t for t in tools if t.name != METRICS_TOOL]
    ranked = rank_tools(turn.question, candidates)
    if not ranked or ranked[0][1] < MIN_SIMILARITY:
        return Step(
            "I can't answer that from this project's data. " + nearest(turn.question, tools, words)
        )
    steps = [
        (_tool_call(turn, parsed, tools, words, tool), tool)
        for name, score in ranked[:TOOL_CHOICES]
        if score >= MIN_SIMILARITY
        for tool in candidates
        if tool.name == name
    ]
    first = steps[0][0]
    valued = [
        step for step, tool in steps if not step.missing and _takes_value(tool, parsed, words)
    ]
    if valued and not _takes_value(steps[0][1], parsed, words):
        return valued[0]  # "customers in the Hibernating segment": the tool that takes it
    if _names_someone(turn.question, parsed) and not _takes_name(steps[0][1]):
        # a question that names someone is about them: the close tool that takes the name,
        # a customer's first
        named = [(step, tool) for step, tool in steps[1:] if not step.missing and _takes_name(tool)]
        named.sort(key=lambda item: not _takes_name(item[1], CUSTOMER))
        if named:
            return named[0][0]
    if not first.missing or not all(name.endswith(" id") for name in first.missing):
        return first
    # An internal id nobody types ("the 3 customers most at risk" is not one customer's risk):
    # the next tool, when it needs nothing the question lacks.
    for step, _tool in steps[1:2]:
        if not step.missing:
            return step
    return first


def _names_someone(question: str, parsed: Parsed) -> bool:
    return (
        parsed.entity is not None
        and parsed.order_reference is None
        and not ordinary(question, parsed.entity)
    )


def _takes_value(tool: Tool, parsed: Parsed, words: Vocabulary) -> bool:
    """Whether the tool takes a value the question names with its kind ("the Hibernating
    segment"), or as a filter."""
    return any(
        (p.name in parsed.filters or p.name in parsed.stems)
        and _value_named(parsed, words, p.name) is not None
        for p in tool.params
    )


def _takes_name(tool: Tool, names: frozenset[str] = NAMED) -> bool:
    return bool({p.name for p in tool.params} & names)


def _tool_call(
    turn: Turn, parsed: Parsed, tools: Sequence[Tool], words: Vocabulary, tool: Tool
) -> Step:
    """The call of ``tool`` with what the question gives, or why it cannot be made."""
    if tool.name in turn.results:
        return Step(reply.tool_answer(tool.name, *turn.results[tool.name]))
    arguments = extract_arguments(tool, turn.question)
    taken = {p.name for p in tool.params}
    if parsed.limit and "limit" in taken:
        arguments.setdefault("limit", parsed.limit)
    if parsed.period and "period" in taken:
        arguments.setdefault("period", parsed.period[1])  # in words, as the tool reads it
    for param in tool.params:
        value = _value_named(parsed, words, param.name)
        if param.name not in arguments and value is not None:
            arguments[param.name] = value  # "the Champions segment"
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
        if ordinary(turn.question, parsed.entity) and param.name != "product":
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
    lacking = [p for p in tool.params if p.required and p.name not in arguments]
    if lacking:
        missing = tuple(p.name.replace("_", " ") for p in lacking)
        choices = [value for p in lacking for value in p.schema.get("enum", ())]
        which = f" ({', '.join(map(str, choices))})" if choices else ""
        return Step(
            f"I can't answer that yet: I need the {', '.join(missing)}{which}. "
            "Which one do you mean?",
            missing=missing,
        )
    return Step(calls=((tool.name, arguments),))


def _value_named(parsed: Parsed, words: Vocabulary, dimension: str) -> str | None:
    """The one value of ``dimension`` the question names, read as a dimension value or as
    a metric's word ("champions")."""
    named = parsed.filters.get(dimension) or [
        value
        for name, value, word in words.values
        if name == dimension and f" {word} " in f" {' '.join(parsed.stems)} "
    ]
    return named[0] if len(set(named)) == 1 else None


def nearest(question: str, tools: Sequence[Tool], words: Vocabulary) -> str:
    """The questions this project can answer that are closest to ``question``."""
    examples = [e for t in tools for e in t.examples if t.name != METRICS_TOOL]
    examples += [e for m in words.metrics.values() for e in m.examples]
    if not examples:
        return capabilities(tools)
    near = process.extract(question, examples, scorer=fuzz.token_set_ratio, limit=SUGGESTIONS)
    listed = "\n".join(f"- {example}" for example, _, _ in near)
    return "The nearest questions I can answer:\n" + listed
