"""Schemas shared by core and plugins: pagination arguments and the base schema."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

MAX_PAGE = 1_000_000
MAX_OFFSET = 1_000_000_000
"""Bounds of paging: beyond them no table has rows, and SQL's 64-bit OFFSET would overflow."""
NUL = "\x00"
NUL_MESSAGE = "Must not contain a NUL character (\\u0000)."


def isoformat_z(value: datetime) -> str:
    """UTC ISO-8601 with ``Z`` (API-MAP: "times are UTC ISO-8601 with Z")."""
    if value.tzinfo is None:
        return value.isoformat() + "Z"
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def plain_json(value: Any, what: str = "value") -> Any:
    """``value`` as plain JSON: UUIDs and amounts as strings, times as ISO-8601 (``Z``).

    Used where Python values leave for storage or the wire without a schema (event payloads,
    job results); anything else is a ``TypeError`` naming ``what``."""

    def convert(item: Any) -> Any:
        if isinstance(item, datetime):
            return isoformat_z(item)
        if isinstance(item, date):
            return item.isoformat()
        if isinstance(item, uuid.UUID | Decimal):
            return str(item)
        raise TypeError(f"{what} holds a {type(item).__name__}, which is not a JSON value")

    return json.loads(json.dumps(value, default=convert))


def serialize_datetimes_with_z() -> None:
    """Make every ``fields.DateTime`` of every plugin dump ISO-8601 as ``...Z``.

    One policy for the whole API, set where the app is built rather than in each schema."""
    fields.DateTime.SERIALIZATION_FUNCS = {
        **fields.DateTime.SERIALIZATION_FUNCS,
        "iso": isoformat_z,
        "iso8601": isoformat_z,
    }


def nul_character_errors(value: Any) -> Any:
    """Where ``value`` (raw JSON or query data) holds a NUL character, as marshmallow's nested
    error messages; ``None`` where it holds none.

    PostgreSQL cannot store NUL in text or JSON, and no real name or message contains one."""
    if isinstance(value, str):
        return [NUL_MESSAGE] if NUL in value else None
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    errors: dict[Any, Any] = {}
    for key, item in items:
        if isinstance(key, str) and NUL in key:
            errors[key] = [NUL_MESSAGE]
        elif (problem := nul_character_errors(item)) is not None:
            errors[key] = problem
    return errors or None


class StrictSchema(Schema):
    """Unknown fields are an error (422), not silently dropped; so is a NUL character in any
    string, key or nested value of what is loaded (body or query string alike)."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _refuse_nul_characters(self, data: Any, **_kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data  # not an object: marshmallow refuses its type
        errors = nul_character_errors(data)
        if errors is not None:
            raise ValidationError(errors)
        return data


class PageArgs(StrictSchema):
    """``page``/``page_size`` everywhere; ``limit``/``offset`` where seed 000 uses them."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    limit = fields.Integer(validate=validate.Range(min=1, max=500))
    offset = fields.Integer(validate=validate.Range(min=0, max=MAX_OFFSET))


class MessageSchema(Schema):
    message = fields.String(required=True)
