"""The words the planner knows, read from the metric registry: each metric's words, label and
name, each dimension's name, label, words and fixed values, the time grains, and the small set
of words that say "compare", "top", "by" or a period. Built once per registry.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from core.metrics.registry import Metric


def word_set(text: str) -> frozenset[str]:
    """The words of ``text``, for the word lists below."""
    return frozenset(text.split())


TOKEN_RE = re.compile(r"#?[a-z0-9]+(?:['.@+-][a-z0-9]+)*")
NUMBER_WORDS = {
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "twelve": "12",
    "fifteen": "15",
    "twenty": "20",
    "thirty": "30",
}
SYNONYMS = {
    "sell": "sold",
    "sells": "sold",
    "selling": "sold",
    "make": "earned",
    "made": "earned",
    "send": "sent",
    "vs": "versus",
    "v": "versus",
    "cust": "customers",
    "msgs": "messages",
    "ppl": "people",
    "prior": "previous",
    "preceding": "previous",
    "assistant": "ai",
    "automated": "ai",
    "automatic": "ai",
    "automatically": "ai",
    "chatbot": "ai",
    "inventory": "stock",
}
GRAIN_WORDS = {
    "hour": ("hour", "hourly", "time of day"),
    "weekday": ("weekday", "day of the week", "day of week", "weekdays"),
    "day": ("day", "daily", "date"),
    "week": ("week", "weekly"),
    "month": ("month", "monthly"),
}
ALWAYS_GROUPED = ("hourly", "daily", "weekly", "monthly")
GROUP_CUES = word_set(
    "by per each every which what top best worst busiest quietest slowest most least biggest "
    "highest lowest popular largest smallest fewest breakdown break broken split"
)
DESCENDING = word_set("top best most biggest highest busiest largest popular greatest")
ASCENDING = word_set("worst least lowest quietest slowest fewest smallest")
COMPARE_WORDS = word_set(
    "versus compared compare comparison against change changed growth grow grew grown "
    "increase increased decrease decreased difference trend trending dropped rise rose fell than"
)
SPENDING = word_set("spend spent spending")
"""Customers' spending is the shop's revenue; what "we" spend is a cost no metric holds."""
OUR_SPENDING = word_set("we i us our my ad ads advertising marketing")
UNKNOWN_MEASURES = word_set(
    "conversion conversions profit profits profitability margin margins expense expenses "
    "overheads roi ctr bounce payroll wages salaries rent budget"
)
"""Measures a shop asks about that no metric may hold; unless a plugin declares one of these
words, a question naming one is declined rather than read as the nearest metric ("conversion
rate" is not "conversations"). What "we" spend (left by :func:`tokenize`) is one too."""
SHARE_WORDS = word_set("share rate ratio percent percentage proportion fraction")
"""Words asking for a part of a whole: the percent metric of the family named."""
COMPARE_PHRASES = (("up", "or", "down"), ("better", "or", "worse"), ("more", "or", "less"))
YEAR_AGO_PHRASES = tuple(
    tuple(text.split())
    for text in (
        "same period last year",
        "same time last year",
        "same week last year",
        "same month last year",
        "same quarter last year",
        "same day last year",
        "same period a year ago",
        "year over year",
        "year on year",
        "yoy",
        "a year ago",
        "a year earlier",
        "the year before",
    )
)
PERIOD_WORDS = word_set(
    "today yesterday week weeks month months quarter year years day days since between "
    "weekend tonight fortnight"
) | frozenset(
    [name.lower() for name in calendar.month_name[1:]]
    + [name.lower() for name in calendar.day_name]
    + ["q1", "q2", "q3", "q4"]
)
PERIOD_GLUE = word_set(
    "last this past previous the in on for during over of and to from until before earlier "
    "prior that it one period a"
)
SHORT_NAMES = frozenset(
    [name.lower() for name in calendar.month_abbr[1:]]
    + [name.lower() for name in calendar.day_abbr]
    + ["sept"]
)
FILLER = word_set(
    """a an the is are was were be been being do does did doing have has had having i me my we
    our us you your it its this that these those there their they them of in on at to for from
    with about as into over under than then so and or but if not no yes any some all much many
    how what which who whom when where why can could would should will shall may might must
    please pls plz tell show give get got list let know see want need like just quick quickly
    now currently current so far total overall number count amount figure figures value values
    hey hi hello ok okay thanks thank also again same too here up down out been via whats
    what's how's hows whats' where's who's it's that's there's i'd i'm we're we've let's
    guys team boss look looking check find bring brought pull report summary stats statistics
    give me much did does each up store shop today's yesterday's week's month's year's did we
    ever still left right exactly roughly approximately about around tally came come coming
    placed place made got received happen happened went go going single typical called
    named name size file record records signed sign overall altogether entire mean meant
    churning leaving buying stopped stop write writing wrote written might soon lately recently
    take taken took takes bring more less fewer opened open moment across among within through
    """
)
"""Words that carry no figure, dimension or name of their own."""
SHORT_WORD = 6
PERIOD_UNITS = word_set("today yesterday day days week weeks month months quarter year years")
"""Up to this length a typo of a word other than a period's is a letter missing, extra or two
swapped, not another letter: "dairy" is no typo of "daily"."""
SHORT_TARGETS = tuple(sorted(PERIOD_WORDS | {"last", "this", "past"}))


@dataclass(frozen=True)
class Vocabulary:
    """What the registry lets a question name."""

    metrics: Mapping[str, Metric]
    metric_phrases: tuple[tuple[tuple[str, ...], str], ...]
    dimension_phrases: tuple[tuple[tuple[str, ...], str], ...]
    values: tuple[tuple[str, str, str], ...]
    known: tuple[str, ...]
    examples: tuple[str, ...] = ()
    example_metrics: tuple[str, ...] = ()
    bases: Mapping[str, str] = field(default_factory=dict)
    """The count a plural noun ending metric names stands for alone ("message")."""
    worded: frozenset[tuple[str, ...]] = frozenset()
    """The metrics' declared words (not labels), which may be read with their words apart
    ("answered by ai" in "did the AI answer")."""
    aliases: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Dimensions written with the same words ("channel" is the orders' provider and the
    messages' channel)."""

    def generic(self, name: str, other: str) -> bool:
        """Whether metric ``name`` is the general one ``other`` narrows: "revenue" of
        "forecast_revenue", the messages received of the unread ones and of those needing a
        human ("messages waiting for a human")."""
        parts = other.split("_")
        return name != other and (
            name in parts or any(self.bases.get(stem(part)) == name for part in parts)
        )

    def head(self, modifier: str, name: str) -> bool:
        """Whether metric ``name``, written right after ``modifier``, is what the words name:
        the narrower of the two ("sales forecast"), or things counted after a ratio that
        describes them ("churn risk customers" are customers)."""
        ratio = self.metrics[modifier].measure == "ratio"
        return self.generic(modifier, name) or (ratio and name in self.bases.values())

    def correct(self, token: str) -> str:
        """``token`` or the known word it is a typo of: one letter wrong, missing, extra or
        two swapped ("revnue", "valeu"), two in long words, the first letter right; words of
        three or four letters only towards period words ("wek", "yeer", "dyas")."""
        if len(token) < 3 or not token.isalpha() or token in FILLER or token in self.known_set:
            return token
        if token in UNKNOWN_MEASURES:
            return token
        choices = self.known if len(token) >= 5 else SHORT_TARGETS
        found = process.extractOne(
            token, choices, scorer=OSA.distance, score_cutoff=2 if len(token) >= 8 else 1
        )
        if not found or found[0][0] != token[0]:
            return token
        word = found[0]
        swapped = sorted(token) == sorted(word)
        if 5 <= len(token) <= SHORT_WORD and word not in PERIOD_UNITS and not swapped:
            return word if Levenshtein.distance(token, word, weights=(1, 1, 2)) <= 1 else token
        return word

    @property
    def known_set(self) -> frozenset[str]:
        return _known_set(self.known)


@lru_cache(maxsize=8)
def _known_set(known: tuple[str, ...]) -> frozenset[str]:
    return frozenset(known)


def stem(word: str) -> str:
    """Light stemming so that plurals, possessives and verb forms meet: "customers'" ->
    "customer", "answered" and "answering" -> "answer", "cancelled" -> "cancel"."""
    word = word.removesuffix("'s").rstrip("'")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us")):
        return word[:-1]
    if word.endswith("ying") and len(word) > 6:
        return word[:-3]  # "replying" -> "reply"
    for ending in ("ed", "ing"):
        root = word.removesuffix(ending)
        if len(root) >= 4 and root != word and root[-1] not in "aeiouy":
            return root[:-1] if root[-1] == root[-2] and root[-1] not in "s" else root
    return word


def asks_share(stems: list[str]) -> bool:
    """ "what share", "return rate", "what % of", "what part of", "how much of our
    replying"; not "up 5 %"."""
    named = [i for i, s in enumerate(stems) if s in SHARE_WORDS or s in ("part", "much")]
    return any(
        stems[i] in SHARE_WORDS - {"percent"}
        or (part_of(stems, i) and (stems[i] != "much" or stems[i - 1 : i] == ["how"]))
        for i in named
    )


def part_of(tokens: list[str], index: int) -> bool:
    """Whether the word at ``index`` asks for a part ("what % of", "percentage of")."""
    after = tokens[index + 1] if index + 1 < len(tokens) else ""
    before = tokens[index - 1] if index else ""
    return after == "of" or before in ("what", "which")


def lemmas(word: str) -> tuple[str, ...]:
    """The forms ``word`` may be written for ("getting" -> "get", "coming" -> "come"), to
    tell ordinary words from names."""
    forms = [word, stem(word)]
    for ending in ("ing", "ed", "s", "es"):
        root = word.removesuffix(ending)
        if root != word and len(root) >= 2:
            forms += [root, root + "e", root[:-1] if root[-1:] == root[-2:-1] else root]
    return tuple(forms)


def phrase(text: str) -> tuple[str, ...]:
    """A declared word or name as the stems a question's tokens are compared with."""
    return tuple(stem(word) for word in tokenize(text.replace("_", " ")))


def tokenize(text: str) -> list[str]:
    """Lower-case tokens with number words as digits, possessives cut and a few synonyms
    mapped."""
    cleaned = text.lower().replace("’", "'").replace("%", " percent ")
    words = [word.removesuffix("'s") for word in TOKEN_RE.findall(cleaned)]
    tokens = [
        SYNONYMS.get(NUMBER_WORDS.get(word, word), NUMBER_WORDS.get(word, word)) for word in words
    ]
    return [
        "revenue"
        if token in SPENDING and not OUR_SPENDING & set(tokens[max(0, i - 2) : i])
        else token
        for i, token in enumerate(tokens)
    ]


_BUILT: dict[tuple[int, int], Vocabulary] = {}


def vocabulary(metrics: Mapping[str, Metric]) -> Vocabulary:
    """The vocabulary of a registry (kept per registry: plugins register metrics once)."""
    key = (id(metrics), len(metrics))
    if key not in _BUILT:
        _BUILT[key] = _build(metrics)
    return _BUILT[key]


def _build(metrics: Mapping[str, Metric]) -> Vocabulary:
    metric_phrases: dict[tuple[str, ...], str] = {}
    dimension_phrases: dict[tuple[str, ...], str] = {}
    aliases: dict[str, set[str]] = {}
    values: dict[tuple[str, str], str] = {}
    for metric in metrics.values():
        for text in (*metric.words, metric.label, metric.name):
            metric_phrases.setdefault(phrase(text), metric.name)
        for dimension in metric.dimensions:
            for text in (dimension.name, dimension.label, *dimension.words):
                first = dimension_phrases.setdefault(phrase(text), dimension.name)
                aliases.setdefault(first, {first}).add(dimension.name)
                aliases.setdefault(dimension.name, {dimension.name}).add(first)
            for value in dimension.values or ():
                values[(dimension.name, value)] = " ".join(phrase(value))
    bases = _bases(metrics)
    for head, name in bases.items():
        metric_phrases.setdefault((head,), name)
    for grain, texts in GRAIN_WORDS.items():
        for text in texts:
            dimension_phrases.setdefault(phrase(text), grain)
    words = {w for p in (*metric_phrases, *dimension_phrases) for w in p}
    texts = [t for m in metrics.values() for t in (*m.words, m.label)]
    texts += [t for m in metrics.values() for d in m.dimensions for t in (d.label, *d.words)]
    words |= {w for text in texts for w in TOKEN_RE.findall(text.lower())}
    words |= (
        {w for value in values.values() for w in value.split()}
        | PERIOD_WORDS
        | PERIOD_GLUE
        | GROUP_CUES
        | COMPARE_WORDS
    )
    words |= {"percent", "versus", "sold", "revenue", "earned", "part"} | SHARE_WORDS
    words |= {" ".join(p) for p in metric_phrases if len(p) == 1} | {"orders", "customers"}
    by_length = sorted(metric_phrases.items(), key=lambda item: _weight(item[0]))
    return Vocabulary(
        metrics=metrics,
        metric_phrases=tuple((p, name) for p, name in by_length if p),
        dimension_phrases=tuple(
            sorted(((p, n) for p, n in dimension_phrases.items() if p), key=lambda i: -len(i[0]))
        ),
        values=tuple((dim, value, word) for (dim, value), word in values.items()),
        known=tuple(sorted(w for w in words if len(w) >= 3 and w.isalpha())),
        examples=tuple(e.lower() for m in metrics.values() for e in m.examples),
        example_metrics=tuple(m.name for m in metrics.values() for _ in m.examples),
        bases=bases,
        worded=frozenset(phrase(text) for m in metrics.values() for text in m.words),
        aliases={name: frozenset(names) for name, names in aliases.items()},
    )


def _weight(words: tuple[str, ...]) -> tuple[int, int]:
    """Longest first, counting words that name something before filler: "customer chats"
    is read before "how many customers"."""
    return -sum(word not in FILLER for word in words), -len(words)


def _bases(metrics: Mapping[str, Metric]) -> dict[str, str]:
    """The count each plural noun that ends metric names stands for alone ("messages" are
    the messages received): of the counts named "..._messages", the one that declares the
    bare noun, else whose words say it most often."""
    heads: dict[str, list[tuple[bool, float, int, str]]] = {}
    for metric in metrics.values():
        last = metric.name.split("_")[-1]
        if metric.unit != "count" or not last.endswith("s"):
            continue
        head = stem(last)
        texts = [phrase(text) for text in metric.words] or [()]
        share = sum(head in words for words in texts) / len(texts)
        found = ((head,) in texts, share, -metric.name.count("_"), metric.name)
        heads.setdefault(head, []).append(found)
    return {head: max(found)[3] for head, found in heads.items()}
