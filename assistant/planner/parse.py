"""Reading one question into what it names, a small grammar in a fixed order:

1. tokens (lower case, number words as digits, typos of known words corrected with rapidfuzz),
   a measure no metric holds ("profit") and whether a share is asked ("what % of");
2. "same period last year"-like phrases, then the longest spans :func:`parse_period` reads
   (one period, or two for "this week vs last week"; a quarter or month beside a year is
   that one of that year), and times ahead ("next 7 days");
3. dimensions after a cue ("by channel", "top 5 products", "which day", "busiest hour");
   a period word left unread after that is a date the grammar cannot read;
4. values of one dimension listed together ("pending and paid", "bot vs human") or named
   with their kind ("the champions segment"), metrics
   by the registry's words (most words that name something first; words of a declared
   phrase may stand apart), then fixed dimension values ("pending", "refunded");
5. top-N, ascending/descending and comparison cues;
6. what is left, as typed: a name to look up (a product, a customer, a value of the
   project's own data such as a channel or a country).

Nothing here reads the database: names are linked by the lookup tools (and the metrics
engine, which checks values) afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from assistant.planner.vocabulary import (
    ALWAYS_GROUPED,
    ASCENDING,
    COMPARE_PHRASES,
    COMPARE_WORDS,
    DESCENDING,
    FILLER,
    GROUP_CUES,
    PERIOD_GLUE,
    PERIOD_WORDS,
    SHORT_NAMES,
    SPENDING,
    UNKNOWN_MEASURES,
    YEAR_AGO_PHRASES,
    Vocabulary,
    asks_share,
    lemmas,
    part_of,
    stem,
    tokenize,
)
from core.errors import Invalid
from core.metrics.periods import (
    RELATIVE,
    Period,
    add_months,
    is_unit_before,
    parse_period,
    period_text,
    shift_period,
)

MAX_PERIOD_TOKENS = 7
CUE_WINDOW = 3
BAG_WINDOW = 3
CONNECTORS = frozenset({"and", "or", "plus", "versus"})
FUTURE = frozenset({"next", "coming", "upcoming", "tomorrow"})
PREVIOUS = frozenset({"previous", "prior", "preceding", "before"})
ORDER_REFERENCE_RE = re.compile(
    r"(?:\border\s*(?:number|no\.?|num|nr)?\s*#?\s*(\d{1,9})\b|#(\d{1,9})\b"
    r"|\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b)",
    re.I,
)


@dataclass
class Parsed:
    """What one question names; empty fields are what it does not say."""

    question: str
    tokens: list[str]
    stems: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    periods: list[tuple[Period, str]] = field(default_factory=list)
    period_problem: str | None = None
    compare: str | None = None
    compare_problem: str | None = None
    group_by: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    direction: str | None = None
    limit: int | None = None
    singular: bool = False
    entity: str | None = None
    order_reference: str | None = None
    future: bool = False
    share: bool = False
    """Whether it asks for a part of a whole ("what share", "%", "what part of")."""
    unknown_measure: str | None = None
    """A measure word no metric holds ("profit", "conversion")."""

    @property
    def period(self) -> tuple[Period, str] | None:
        return self.periods[0] if self.periods else None

    @property
    def names_something(self) -> bool:
        """Whether a follow-up says anything a query can take."""
        return bool(
            self.metrics
            or self.periods
            or self.compare
            or self.group_by
            or self.filters
            or self.entity
            or self.limit
        )


def parse(question: str, words: Vocabulary, today: date, previous: Period | None) -> Parsed:
    """The slots of ``question``; ``previous`` is the period asked about just before."""
    tokens = [words.correct(token) for token in tokenize(question)]
    parsed = Parsed(question, tokens, [stem(token) for token in tokens])
    reference = ORDER_REFERENCE_RE.search(question)
    if reference:
        parsed.order_reference = next(group for group in reference.groups() if group)
    used = [False] * len(tokens)
    parsed.unknown_measure = next(
        (
            t
            for t in tokens
            if t in SPENDING or (t in UNKNOWN_MEASURES and t not in words.known_set)
        ),
        None,
    )
    parsed.share = asks_share(parsed.stems)
    _year_ago(parsed, used)
    _periods(parsed, used, today, previous)
    _future(parsed, used)
    _dimensions(parsed, used, words)
    _unread_dates(parsed, used)
    _listed_values(parsed, used, words)
    _kinded_values(parsed, used, words)
    _metrics(parsed, used, words)
    _values(parsed, used, words)
    _cues(parsed, used)
    _entity(parsed, used, question, words)
    return parsed


def _find(stems: list[str], used: list[bool], wanted: tuple[str, ...]) -> int | None:
    """The first position where the stems ``wanted`` follow each other unused."""
    size = len(wanted)
    first = wanted[0]
    for start, word in enumerate(stems):
        if (
            word == first
            and tuple(stems[start : start + size]) == wanted
            and not any(used[start : start + size])
        ):
            return start
    return None


def _take(used: list[bool], start: int, size: int) -> None:
    for index in range(start, start + size):
        used[index] = True


def _year_ago(parsed: Parsed, used: list[bool]) -> None:
    for wanted in YEAR_AGO_PHRASES:
        start = _find(parsed.stems, used, tuple(stem(w) for w in wanted))
        if start is not None:
            _take(used, start, len(wanted))
            parsed.compare = "previous_year"


def _periods(parsed: Parsed, used: list[bool], today: date, previous: Period | None) -> None:
    """The longest spans that read as periods, at most two, in the order written."""
    tokens, found = parsed.tokens, []
    for size in range(min(MAX_PERIOD_TOKENS, len(tokens)), 0, -1):
        for start in range(len(tokens) - size + 1):
            window = range(start, start + size)
            span = tokens[start : start + size]
            if any(used[i] for i in window) or not _could_be_period(span, tokens, start):
                continue
            text = " ".join(span)
            try:
                period = parse_period(text, today, previous)
            except Invalid:
                if RELATIVE.match(text) and previous is None:
                    parsed.period_problem = f"“{text}” needs a period asked about before"
                continue
            found.append((start, start + size, period, text))
            _take(used, start, size)
    found.sort(key=lambda item: item[0])
    parsed.periods = [(period, text) for _, _, period, text in _in_years(found, tokens)[:2]]
    if len(parsed.periods) == 2:
        _second_period_is_a_comparison(parsed)


YEAR_GLUE = frozenset({"of", "in"})
Span = tuple[int, int, Period, str]
"""A period read: its first token, the token after it, the period and its text."""


def _in_years(found: list[Span], tokens: list[str]) -> list[Span]:
    """A quarter or month written beside a year ("Q3 last year", "last year's March",
    "March of 2025") is that quarter or month of that year."""
    merged: list[Span] = []
    for item in found:
        if merged and _beside(merged[-1], item, tokens):
            before = merged.pop()
            part, year = (before, item) if item[2].kind == "year" else (item, before)
            months = 12 * (year[2].start.year - part[2].start.year)
            start = add_months(part[2].start, months)
            end = add_months(part[2].end + timedelta(days=1), months) - timedelta(days=1)
            period = Period(start, end, "", part[2].kind)
            text = period_text(period)
            item = (before[0], item[1], Period(start, end, text, period.kind), text)
        merged.append(item)
    return merged


def _beside(first: Span, second: Span, tokens: list[str]) -> bool:
    kinds = {first[2].kind, second[2].kind}
    between = tokens[first[1] : second[0]]
    return (
        "year" in kinds
        and bool(kinds & {"quarter", "month"})
        and all(t in YEAR_GLUE for t in between)
        and len(between) <= 1
    )


def _future(parsed: Parsed, used: list[bool]) -> None:
    """ "next 7 days", "the coming week", "tomorrow": a time ahead, which no stored figure
    covers (a forecast tool may)."""
    tokens = parsed.tokens
    for index, token in enumerate(tokens):
        if token in FUTURE and not used[index]:
            parsed.future = True
            ahead = index + 1
            while ahead < len(tokens) and (
                tokens[ahead].isdigit() or tokens[ahead] in PERIOD_WORDS
            ):
                ahead += 1
            _take(used, index, ahead - index)


def _unread_dates(parsed: Parsed, used: list[bool]) -> None:
    """A period word left unread (not a period, nor a grouping like "by week") is a date the
    question gives and the grammar cannot read; one about the future is left to the tools
    that forecast."""
    tokens = parsed.tokens
    unread = [t for i, t in enumerate(tokens) if not used[i] and t in PERIOD_WORDS - {"day"}]
    if unread and not parsed.periods and parsed.period_problem is None and not parsed.future:
        parsed.period_problem = f"I could not read the dates in “{parsed.question.strip()}”"


def _could_be_period(span: list[str], tokens: list[str], start: int) -> bool:
    if RELATIVE.match(" ".join(span)):
        return True
    if not any(t in PERIOD_WORDS or t[:1].isdigit() for t in span):
        return False
    if not all(
        t in PERIOD_WORDS or t in PERIOD_GLUE or t in SHORT_NAMES or t[:1].isdigit() for t in span
    ):
        return False
    if len(span) == 1 and (span[0] in SHORT_NAMES or span[0] == "may"):
        before = tokens[start - 1] if start else ""
        return before in ("in", "on", "since", "during")
    return True


def _second_period_is_a_comparison(parsed: Parsed) -> None:
    (main, text), (other, other_text) = parsed.periods
    parsed.periods = [(main, text)]
    previous = shift_period(main, "previous_period")
    if (
        _dates(other) == _dates(previous)
        or is_unit_before(main, other)
        or (other.end - other.start == main.end - main.start and PREVIOUS & set(other_text.split()))
    ):
        parsed.compare = "previous_period"
    elif other.start == add_months(main.start, -12) or (
        other.kind == "year" and main.kind != "year" and other.start.year == main.start.year - 1
    ):
        parsed.compare = "previous_year"
    else:
        parsed.compare_problem = (
            "I can compare a period with the one just before it or with the same dates a year "
            "earlier, not with another period"
        )


def _dates(period: Period) -> tuple[date, date]:
    return period.start, period.end


def _cue_before(tokens: list[str], start: int) -> str | None:
    for index in range(max(0, start - CUE_WINDOW), start):
        if tokens[index] in GROUP_CUES:
            return tokens[index]
    return None


def _dimensions(parsed: Parsed, used: list[bool], words: Vocabulary) -> None:
    tokens = parsed.tokens
    for wanted, name in words.dimension_phrases:
        start = _find(parsed.stems, used, wanted)
        if start is None or name in parsed.group_by:
            continue
        if _counted(parsed.stems, start, words):
            continue
        cue = _cue_before(tokens, start)
        count = tokens[start - 1] if start and tokens[start - 1].isdigit() else None
        if count is not None and not used[start - 1]:
            parsed.limit, used[start - 1] = int(count), True
            parsed.direction = parsed.direction or "desc"
            cue = cue or "top"
        end = start + len(wanted)
        grouped = tokens[start] in ALWAYS_GROUPED or (
            end < len(tokens) and tokens[end] == "breakdown"
        )
        if cue is None and not grouped:
            continue
        _take(used, start, len(wanted))
        parsed.group_by.append(name)
        last = tokens[end - 1]
        parsed.singular = parsed.singular or (stem(last) == last and cue not in ("by", "per"))


COUNTED = (("number", "of"), ("count", "of"), ("how", "many"))
MOST = frozenset({"most", "fewest", "many"})


def _counted(stems: list[str], start: int, words: Vocabulary) -> bool:
    """ "by number of customers", "the most customers", "customer count": the customers are
    counted (a metric of that name), not a grouping."""
    if start >= 2 and tuple(stems[start - 2 : start]) in COUNTED:
        return True
    after = stems[start + 1] if start + 1 < len(stems) else ""
    most = start >= 1 and stems[start - 1] in MOST
    return (most or after == "count") and any(p == (stems[start],) for p, _ in words.metric_phrases)


def _kinded_values(parsed: Parsed, used: list[bool], words: Vocabulary) -> None:
    """A value written with its kind ("the champions segment", "segment Champions") filters
    by it, before its word is read as a metric's."""
    stems = parsed.stems
    for dimension, value, word in words.values:
        size = len(word.split())
        start = _find(stems, used, tuple(word.split()))
        if start is None:
            continue
        for kind in (p for p, name in words.dimension_phrases if name == dimension):
            after = start + size
            at = after if tuple(stems[after : after + len(kind)]) == kind else start - len(kind)
            if (
                at >= 0
                and tuple(stems[at : at + len(kind)]) == kind
                and not any(used[at : at + len(kind)])
            ):
                _take(used, start, size)
                _take(used, at, len(kind))
                parsed.filters.setdefault(dimension, []).append(value)
                break


def _metrics(parsed: Parsed, used: list[bool], words: Vocabulary) -> None:
    """Metrics by their longest phrases; two phrases written side by side are one thing
    ("unread customer messages"), the first named."""
    spans: list[tuple[int, int, str]] = []
    for wanted, name in words.metric_phrases:
        while len(wanted) > 1 and (start := _find(parsed.stems, used, wanted)) is not None:
            _take(used, start, len(wanted))
            spans.append((start, start + len(wanted), name))
    for _spread, _order, content, name in sorted(_bags(parsed.stems, used, words)):
        places = [_find(parsed.stems, used, (word,)) for word in content]
        if None in places or name in {n for *_, n in spans}:
            continue
        if _spread_of(parsed.stems, places) <= BAG_WINDOW - 1:
            for place in places:
                used[place] = True
            spans.append((min(places), -1, name))  # type: ignore[type-var]
    for wanted, name in words.metric_phrases:
        while len(wanted) == 1 and (start := _find(parsed.stems, used, wanted)) is not None:
            used[start] = True
            spans.append((start, start + 1, name))
    spans.sort()
    for index, (start, _end, name) in enumerate(spans):
        before = spans[index - 1][2] if index and spans[index - 1][1] == start else None
        if before is not None and words.head(before, name) and before in parsed.metrics:
            parsed.metrics[parsed.metrics.index(before)] = name  # "sales forecast"
        elif name not in parsed.metrics and before is None:
            parsed.metrics.append(name)


def _bags(
    stems: list[str], used: list[bool], words: Vocabulary
) -> list[tuple[int, int, list[str], str]]:
    """The declared phrases whose words stand apart in the question ("did the AI answer"),
    the tightest first: (words between, order, words, metric)."""
    found = []
    for order, (wanted, name) in enumerate(words.metric_phrases):
        content = [word for word in wanted if word not in FILLER and word != "by"]
        loose = wanted in words.worded or len(content) == len(wanted)
        if len(content) > 1 and loose:
            places = [_find(stems, used, (word,)) for word in content]
            if None not in places:
                found.append((_spread_of(stems, places), order, content, name))
    return found


def _spread_of(stems: list[str], places: list[int | None]) -> int:
    """The words between ``places`` that say something ("replies written by the AI": none);
    too many when an "and" parts them ("orders and revenue" are two things)."""
    first, last = min(places), max(places)  # type: ignore[type-var]
    if CONNECTORS & set(stems[first:last]):
        return len(stems)
    return sum(
        1
        for index in range(first + 1, last)
        if index not in places and stems[index] not in FILLER and stems[index] != "by"
    )


def _listed_values(parsed: Parsed, used: list[bool], words: Vocabulary) -> None:
    """Values of one dimension listed together: "pending and paid orders" filters by both
    (before "paid orders" is read as a metric), "bot vs human" compares them (a breakdown)."""
    dimension_of = {word: dimension for dimension, _, word in words.values}
    value_of = {(dimension, word): value for dimension, value, word in words.values}
    stems, index = parsed.stems, 0
    while index < len(stems):
        run, joined, at = [index], set(), index + 1
        dimension = dimension_of.get(stems[index])
        while dimension and at < len(stems):
            step = at + 1 if stems[at] in CONNECTORS else at
            if step >= len(stems) or dimension_of.get(stems[step]) != dimension:
                break
            if step != at:
                joined.add(stems[at])
            run.append(step)
            at = step + 1
        index = run[-1] + 1
        if len(run) < 2 or any(used[i] for i in run):
            continue
        _take(used, run[0], run[-1] - run[0] + 1)
        if "versus" in joined or COMPARE_WORDS & set(parsed.tokens):
            if dimension not in parsed.group_by:
                parsed.group_by.append(dimension)
        else:
            values = [value_of[(dimension, stems[i])] for i in run]
            parsed.filters.setdefault(dimension, []).extend(values)


def _values(parsed: Parsed, used: list[bool], words: Vocabulary) -> None:
    for dimension, value, word in words.values:
        start = _find(parsed.stems, used, tuple(word.split()))
        if start is not None:
            _take(used, start, len(word.split()))
            parsed.filters.setdefault(dimension, []).append(value)


def _cues(parsed: Parsed, used: list[bool]) -> None:
    tokens = parsed.tokens
    for index, token in enumerate(tokens):
        if token in DESCENDING or token in ASCENDING:
            parsed.direction = parsed.direction or ("asc" if token in ASCENDING else "desc")
            used[index] = True
            for near in (index + 1, index - 1):
                if 0 <= near < len(tokens) and tokens[near].isdigit() and not used[near]:
                    parsed.limit = int(tokens[near])
                    used[near] = True
        elif token in COMPARE_WORDS or (token == "percent" and not part_of(tokens, index)):
            parsed.compare = parsed.compare or "previous_period"
            used[index] = True
    for wanted in COMPARE_PHRASES:
        start = _find(parsed.stems, used, wanted)
        if start is not None:
            _take(used, start, len(wanted))
            parsed.compare = parsed.compare or "previous_period"
    for index, token in enumerate(tokens):
        if token in GROUP_CUES:
            used[index] = True


def _entity(parsed: Parsed, used: list[bool], question: str, words: Vocabulary) -> None:
    """The longest run of words left that could be a name, as the person typed it."""
    typed = re.findall(r"#?[\w]+(?:['.@+-][\w]+)*", question.replace("’", "'"))
    if len(typed) != len(parsed.tokens):
        typed = parsed.tokens
    runs: list[list[int]] = [[]]
    for index, token in enumerate(parsed.tokens):
        meaningful = not used[index] and not any(
            form in FILLER or form in words.known_set for form in lemmas(token)
        )
        if meaningful and not token.startswith("#"):
            runs[-1].append(index)
        elif runs[-1]:
            runs.append([])
    best = max(runs, key=len)
    if best and not all(parsed.tokens[i].isdigit() for i in best):
        parsed.entity = " ".join(typed[i] for i in best).removesuffix("'s")
