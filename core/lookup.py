"""Finding a thing from what a person types: one fuzzy matcher that every plugin's lookup uses.

A plugin's lookup (``plugins.orders.lookup.find_products``, ...) first tries exact references
(ids, numbers, emails, phones, SKUs), then calls :func:`match_names` over the project's own
names. The matcher ignores case and punctuation, forgives typos (rapidfuzz's ``WRatio``), keeps
the numbers in a name ("Table 12" is never "Table 2") and, when two names fit about as well,
returns both as candidates instead of guessing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from core.errors import Invalid

Key = TypeVar("Key", bound=Hashable)
Item = TypeVar("Item")

MATCH_SCORE = 80
"""The least score (0-100) at which a name is taken as meant at all."""
ROUGH_SCORE = 50
ROUGH_CANDIDATES = 50
"""The first, fast pass (``WRatio`` only) keeps this many names scoring at least ROUGH_SCORE."""
CLEAR_LEAD = 10
"""How far the best name must score above the next to be taken without asking."""
MAX_CANDIDATES = 5
UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
NUMBER_RE = re.compile(r"\d+")
MIN_PHONE_DIGITS = 6
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class Lookup(Generic[Item]):
    """What a lookup found: ``match`` when one thing is clearly meant, else the
    ``candidates`` to choose from (none when nothing fits)."""

    query: str
    match: Item | None = None
    candidates: tuple[Item, ...] = field(default=())

    @property
    def ambiguous(self) -> bool:
        return self.match is None and len(self.candidates) > 1

    def as_json(self, dump: Any) -> dict[str, Any]:
        """The lookup for a tool's answer, each item through ``dump``."""
        return {
            "query": self.query,
            "match": dump(self.match) if self.match is not None else None,
            "candidates": [dump(item) for item in self.candidates],
            "ambiguous": self.ambiguous,
        }


def found(query: str, items: list[Item]) -> Lookup[Item]:
    """One item is the match; several are candidates; none is nothing found."""
    if len(items) == 1:
        return Lookup(query, items[0], (items[0],))
    return Lookup(query, None, tuple(items[:MAX_CANDIDATES]))


def checked_query(text: str, field_name: str, detail: str) -> str:
    """``text`` stripped, or ``Invalid`` on ``field_name`` (saying ``detail``) when it is empty
    or longer than any name a lookup compares it with."""
    query = text.strip()
    if not query or len(query) > MAX_QUERY_LENGTH:
        raise Invalid(detail, errors={field_name: [f"1 to {MAX_QUERY_LENGTH} characters"]})
    return query


def uuid_in(text: str) -> uuid.UUID | None:
    """The UUID written in ``text``, if any: such a reference is only ever matched exactly."""
    match = UUID_RE.search(text)
    return uuid.UUID(match.group(0)) if match else None


def email_in(text: str) -> str | None:
    match = EMAIL_RE.search(text)
    return match.group(0).lower() if match else None


def phone_digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def is_phone(text: str) -> bool:
    """Text that is a phone number: digits with the usual separators, enough of them."""
    stripped = text.strip()
    return bool(re.fullmatch(r"\+?[\d\s().-]+", stripped)) and (
        len(phone_digits(stripped)) >= MIN_PHONE_DIGITS
    )


def same_phone(typed: str, stored: str | None) -> bool:
    """Phones match when the digits typed end the stored number (country code left out)."""
    typed_digits, stored_digits = phone_digits(typed), phone_digits(stored)
    if len(typed_digits) < MIN_PHONE_DIGITS or not stored_digits:
        return False
    return stored_digits.endswith(typed_digits) or typed_digits.endswith(stored_digits)


def match_names(text: str, names: Mapping[Key, str]) -> tuple[Key | None, list[Key]]:
    """``(the key meant, candidates)`` among ``names`` (key -> name) for ``text``.

    An exact name (any case) wins; otherwise the names scoring at least :data:`MATCH_SCORE`
    are candidates, best first, and the best is the match only with a clear lead."""
    query = default_process(text)
    if not query:
        return None, []
    numbers = set(NUMBER_RE.findall(query))
    eligible = {key: name for key, name in names.items() if numbers <= set(NUMBER_RE.findall(name))}
    exact = [key for key, name in eligible.items() if default_process(name) == query]
    if exact:
        return (exact[0] if len(exact) == 1 else None), exact[:MAX_CANDIDATES]
    rough = process.extract(
        query,
        eligible,
        scorer=fuzz.WRatio,
        processor=default_process,
        score_cutoff=ROUGH_SCORE,
        limit=ROUGH_CANDIDATES,
    )
    scored = sorted(
        ((key, _score(query, default_process(name))) for name, _, key in rough),
        key=lambda pair: pair[1],
        reverse=True,
    )
    keys = [key for key, score in scored if score >= MATCH_SCORE][:MAX_CANDIDATES]
    if len(keys) == 1 or (len(keys) > 1 and scored[0][1] - scored[1][1] >= CLEAR_LEAD):
        return keys[0], keys[:1]
    return None, keys


def _score(query: str, name: str) -> float:
    """The better of rapidfuzz's ``WRatio`` and a word-by-word score (each typed word against
    the name's closest word): "okafr" is Okafor, "tea" is not "Table 12"."""
    words = name.split()
    by_word = sum(max(fuzz.ratio(typed, word) for word in words) for typed in query.split())
    return max(fuzz.WRatio(query, name), by_word / len(query.split()))
