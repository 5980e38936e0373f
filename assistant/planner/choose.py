"""Choosing the metrics a question names: the specific one over the generic, a count or an
amount as asked, a sibling that has the dimensions the question needs, or, when no metric is
named, the one whose words share most with the question."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process

from assistant.planner.parse import Parsed
from assistant.planner.vocabulary import (
    FILLER,
    GROUP_CUES,
    PERIOD_GLUE,
    PERIOD_WORDS,
    Vocabulary,
    phrase,
    stem,
)
from core.metrics.registry import TIME_GRAINS, Metric

LOOKUPS = {"product": "lookup_product", "customer": "lookup_customer"}
EXAMPLE_SCORE = 88
IGNORED = FILLER | PERIOD_WORDS | PERIOD_GLUE | GROUP_CUES


def specific(parsed: Parsed, words: Vocabulary) -> list[str]:
    """The metrics named, the generic one left out when a specific one names it too
    ("customers at risk" is not also "customers"), each in the unit "how many" or "how much"
    asks for."""
    names = [
        n
        for n in parsed.metrics
        if not any(n != other and n in other.split("_") for other in parsed.metrics)
    ]
    tokens = set(parsed.tokens)
    wanted = "count" if "many" in tokens else "money" if "much" in tokens else None
    if wanted is None:
        return names
    return [_in_unit(name, wanted, words) for name in names]


READ_AS = {("count", "money"), ("percent", "count")}
GENERIC_PARTS = frozenset({"orders", "messages", "customers", "share", "rate", "amount"})


def _in_unit(name: str, unit: str, words: Vocabulary) -> str:
    """``name``, or the metric in ``unit`` named with most of the same qualifiers: "how
    many" of a share is the count ("how many did the AI answer"), "how much" of a count is
    the amount ("how much did we refund")."""
    if (words.metrics[name].unit, unit) not in READ_AS:
        return name
    parts = set(name.split("_")) - GENERIC_PARTS
    shared = [
        (len(parts & set(m.name.split("_"))), m.name)
        for m in words.metrics.values()
        if m.unit == unit and parts & set(m.name.split("_"))
    ]
    return max(shared, key=lambda item: item[0])[1] if shared else name


def by_example(question: str, words: Vocabulary) -> str | None:
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


def pick_metric(parsed: Parsed, words: Vocabulary, any_of: set[str]) -> str | None:
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


def fits_a_name(names: list[str], words: Vocabulary) -> bool:
    return any(fit_metrics(names, [d], words) is not None for d in LOOKUPS)


DISTINCT_WORDS = frozenset({"unique", "distinct", "different", "individual"})


def as_asked(names: list[str], parsed: Parsed, words: Vocabulary) -> list[str]:
    """The metrics in the form the question asks: the percent metric of each when it asks
    for a share, the family's base count when it breaks distinct ones down by an attribute
    (by day, each day's distinct ones still count)."""
    if parsed.share:
        names = _shares(names, parsed, words)
    attributes = set(parsed.group_by) - set(TIME_GRAINS)
    if attributes and not DISTINCT_WORDS & set(parsed.tokens):
        names = [_base_count(name, words) for name in names]
    return list(dict.fromkeys(names))


def _shares(names: list[str], parsed: Parsed, words: Vocabulary) -> list[str]:
    """Each count as the ratio it is the numerator of ("returning visitor share" is the
    returning-visitor rate), or the whole as the ratio of it whose part the question
    describes ("% of replies sent by the bot"); the whole a share is of, named beside its
    part, goes ("% of chats the bot solved")."""
    ratios = [m for m in words.metrics.values() if m.unit == "percent" and m.numerator]
    asked = {stem(t) for t in parsed.tokens if t not in IGNORED}
    shares = []
    for name in names:
        as_part = [r.name for r in ratios if r.numerator == name]
        of_whole = [
            (len(asked & said(words.metrics[r.numerator or ""], words)), r.name)
            for r in ratios
            if r.denominator == name
        ]
        best = max(of_whole, default=(0, name))
        shares.append(as_part[0] if as_part else best[1] if best[0] else name)
    wholes = {words.metrics[n].denominator for n in shares if words.metrics[n].unit == "percent"}
    return [name for name in shares if name not in wholes] or shares


def _base_count(name: str, words: Vocabulary) -> str:
    """A count of different things broken down (visitors by mood) as the plain count of
    its source (visits): the different ones do not add up across the breakdown."""
    metric = words.metrics[name]
    if metric.measure != "count_distinct" or metric.condition is not None:
        return name
    base = [
        m.name
        for m in words.metrics.values()
        if m.source is metric.source
        and m.measure == "count"
        and m.condition is None
        and m.dimension_names == metric.dimension_names
    ]
    return base[0] if len(base) == 1 else name


def in_family(names: list[str], parsed: Parsed, before: list[str], words: Vocabulary) -> list[str]:
    """A follow-up about "them" read among the metrics of the family asked about before:
    "what share of them were returning?" after visitors is about returning visitors, not
    returned orders."""
    sources = {words.metrics[n].source for n in before if n in words.metrics}
    if not names or all(words.metrics[n].source in sources for n in names):
        return names
    asked = {stem(t) for t in parsed.tokens if t not in IGNORED}
    scored = [
        (len(asked & said(m, words)), -len(m.name), m.name)
        for m in words.metrics.values()
        if m.source in sources and m.unit == "count"
    ]
    best = max(scored, default=(0, 0, ""))
    return [best[2]] if best[0] else names


def said(metric: Metric, words: Vocabulary) -> set[str]:
    """The stems a metric is named or described with."""
    texts = (metric.name, metric.label, *metric.words)
    return {w for text in texts for w in phrase(text)} - IGNORED
