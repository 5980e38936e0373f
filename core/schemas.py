"""Schemas shared by core and plugins: pagination arguments and the base schema."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, fields, validate


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


class StrictSchema(Schema):
    """Unknown fields are an error (422), not silently dropped."""

    class Meta:
        unknown = RAISE


class PageArgs(StrictSchema):
    """``page``/``page_size`` everywhere; ``limit``/``offset`` where seed 000 uses them."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    limit = fields.Integer(validate=validate.Range(min=1, max=500))
    offset = fields.Integer(validate=validate.Range(min=0))


class MessageSchema(Schema):
    message = fields.String(required=True)
