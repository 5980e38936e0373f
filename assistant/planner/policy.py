"""What the offline assistant refuses before reading a question for figures: other projects,
credentials, and anything that deletes or changes data in bulk. It says why; it never answers
with this project's unrelated figures instead."""

from __future__ import annotations

import re

from assistant.planner.vocabulary import tokenize, word_set

CREDENTIAL_WORDS = word_set(
    "password passwords passcode pin apikey secret secrets token tokens credential credentials "
    "cvv ssh"
)
CREDENTIAL_PHRASES = (
    ("api", "key"),
    ("api", "keys"),
    ("private", "key"),
    ("card", "number"),
    ("login", "details"),
    ("access", "key"),
)
DESTRUCTIVE_WORDS = word_set(
    "delete deleting remove erase wipe drop purge destroy truncate deactivate"
)
BULK_WORDS = word_set("all every everything")
BULK_VERBS = word_set("cancel refund reset clear change update mark")
OTHER_WORDS = word_set(
    "other another different else's someone's competitor competitors sister second"
)
PLACES = word_set(
    "store stores shop shops project projects tenant tenants account accounts "
    "business businesses company companies brand brands"
)

BRANCHES = word_set("branch branches location locations outlet outlets franchise franchises")
"""Places of a business that are never the one asked about unless named as "this" one."""
HERE = word_set("this our your my the same current main by per each every which what any a")

SINGULAR = frozenset({"store", "shop", "project", "account", "business", "company", "brand"})

CREDENTIALS = (
    "I can't share passwords, API keys, tokens or any other credentials, and I don't look them "
    "up. An administrator can manage them in the project's settings."
)
DESTRUCTIVE = (
    "I only read this project's data: I can't delete, wipe or change records in bulk. "
    "Please do that from the admin screens, where it is checked and logged."
)
OTHER_PROJECT = (
    "I can only answer about this project's own data, not about other stores or projects on "
    "the server."
)


def refusal(question: str) -> str | None:
    """Why the question is refused, or None."""
    tokens = tokenize(question)
    pairs = set(zip(tokens, tokens[1:], strict=False))
    if CREDENTIAL_WORDS & set(tokens) or pairs & set(CREDENTIAL_PHRASES):
        return CREDENTIALS
    if DESTRUCTIVE_WORDS & set(tokens):
        return DESTRUCTIVE
    for index, token in enumerate(tokens):
        if token in BULK_VERBS and BULK_WORDS & set(tokens[index + 1 : index + 4]):
            return DESTRUCTIVE
        if token in OTHER_WORDS and (PLACES | BRANCHES) & set(tokens[index + 1 : index + 3]):
            return OTHER_PROJECT
        following = PLACES & set(tokens[index + 1 : index + 3])
        if (token == "every" and following) or (token == "all" and following - SINGULAR):
            return OTHER_PROJECT
    return OTHER_PROJECT if _another_place(question) else None


def _another_place(question: str) -> bool:
    """ "the Downtown branch", "our Airport store", "the harbour outlet": a place named apart
    from the one asked about (a capitalized name before a store's word, any word before a
    branch's)."""
    typed = [w.removesuffix("'s") for w in re.findall(r"[\w']+", question.replace("’", "'"))]
    for index in range(1, len(typed)):
        word, before = typed[index].lower(), typed[index - 1]
        named = index > 1 and before[:1].isupper() and before != "I"
        if (word in BRANCHES and before.lower() not in HERE) or (word in PLACES and named):
            return True
    return False
