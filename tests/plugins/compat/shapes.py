"""Checking a response against a shape transcribed from an original system's document.

A shape is the document's own example: a value's type is what the example shows (``0.0`` a
number, ``true`` a boolean, ``"2024-01-01T00:00:00Z"`` a time) or, in seed 003's notation,
what it names (``"UUID4"``, ``"float"``, ``"datetime"``). Ids the documents show as integers
are UUID strings in Nebulo (the one deliberate difference, see README). Every documented field
must be present with its type; ``nullable`` lists the paths that may be ``null``.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Any

TYPE_NAMES = {
    "uuid": "uuid",
    "uuid4": "uuid",
    "float": "number",
    "int": "integer",
    "bool": "boolean",
    "datetime": "datetime",
    "date": "date",
}
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _documented_kind(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "uuid" if key == "id" or key.endswith("_id") else "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        if value.lower() in TYPE_NAMES:
            return TYPE_NAMES[value.lower()]
        if ISO_TIME.match(value):
            return "datetime"
        if ISO_DATE.match(value):
            return "date"
        return "string"
    raise AssertionError(f"no kind for documented {value!r}")


def _is(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if not isinstance(value, str):
        return False
    if kind == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            return False
        return True
    if kind == "datetime":
        return datetime.fromisoformat(value.replace("Z", "+00:00")) is not None
    if kind == "date":
        return date.fromisoformat(value) is not None
    return True


def check_shape(
    actual: Any, documented: Any, nullable: tuple[str, ...] = (), path: str = "$", key: str = ""
) -> None:
    """Raise ``AssertionError`` naming the first path where ``actual`` leaves the shape."""
    if actual is None:
        assert documented is None or path in nullable, f"{path} is null"
        return
    if isinstance(documented, dict):
        assert isinstance(actual, dict), f"{path} is not an object: {actual!r}"
        for name, value in documented.items():
            assert name in actual, f"{path}.{name} is missing from {sorted(actual)}"
            check_shape(actual[name], value, nullable, f"{path}.{name}", name)
    elif isinstance(documented, list):
        assert isinstance(actual, list), f"{path} is not a list: {actual!r}"
        if documented:
            for item in actual:
                check_shape(item, documented[0], nullable, f"{path}[]", key)
    else:
        kind = _documented_kind(key, documented)
        assert _is(kind, actual), f"{path} should be {kind}, is {actual!r}"
