"""Schemas shared by core and plugins: pagination arguments and the base schema."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


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
