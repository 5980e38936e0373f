"""Request and response schemas of the persons plugin (seed 004's field names)."""

from __future__ import annotations

import json
import math
from datetime import UTC
from typing import Any

from flask import Request
from marshmallow import ValidationError, fields, validate, validates_schema

from core.errors import Invalid
from core.schemas import PageArgs, StrictSchema
from plugins.persons.models import VECTOR_SIZE

TEXT = validate.Length(max=32)
AGE = validate.Range(min=0, max=150)
VISIT_COUNT_TYPES = ("last_6_hours", "day", "week", "month")
MAX_COMPONENT = 1e6
"""Far above any face embedding's numbers, far below where float32 (how vectors are stored)
overflows."""


class VectorField(fields.Field):
    """128 finite numbers, as a JSON array or as the seed's JSON-encoded string."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[float]:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValidationError("Must be a JSON array of numbers.") from None
        if not isinstance(value, list) or not all(
            isinstance(number, int | float) and not isinstance(number, bool) for number in value
        ):
            raise ValidationError("Must be an array of numbers.")
        if len(value) != VECTOR_SIZE:
            raise ValidationError(f"Must have exactly {VECTOR_SIZE} numbers, not {len(value)}.")
        if not all(math.isfinite(number) for number in value):
            raise ValidationError("Every number must be finite (no NaN or infinity).")
        if any(abs(number) > MAX_COMPONENT for number in value):
            raise ValidationError(
                f"Every number must be between -{MAX_COMPONENT:g} and {MAX_COMPONENT:g}."
            )
        if not any(value):
            raise ValidationError("Must not be all zeros.")
        return [float(number) for number in value]


def _when() -> fields.AwareDateTime:
    return fields.AwareDateTime(default_timezone=UTC)


class DetectionSchema(StrictSchema):
    """What a camera sends about one detected visitor."""

    vector = VectorField(required=True, metadata={"type": "array", "items": {"type": "number"}})
    age = fields.Integer(validate=AGE, allow_none=True)
    gender = fields.String(validate=TEXT, allow_none=True)
    emotion = fields.String(validate=TEXT, allow_none=True)
    body_type = fields.String(validate=TEXT, allow_none=True)
    entry_time = _when()
    exit_time = _when()

    @validates_schema
    def _exit_after_entry(self, data: dict[str, Any], **_kwargs: Any) -> None:
        entry, exit_ = data.get("entry_time"), data.get("exit_time")
        if entry and exit_ and exit_ < entry:
            raise ValidationError("Must not be before entry_time.", "exit_time")


class DetectionFormSchema(DetectionSchema):
    """The multipart form of a detection: the vector as a JSON string, plus an image file.
    Without a vector the server computes it from the image (optional extra ``vision``)."""

    vector = VectorField(
        metadata={"type": "string", "description": "Required unless an image is sent"}
    )
    image = fields.Raw(metadata={"type": "string", "format": "binary"})


class PersonChangesSchema(StrictSchema):
    full_name = fields.String(validate=validate.Length(max=200), allow_none=True)
    phone_number = fields.String(validate=validate.Length(max=32), allow_none=True)
    age = fields.Integer(validate=AGE, allow_none=True)
    gender = fields.String(validate=TEXT, allow_none=True)
    emotion = fields.String(validate=TEXT, allow_none=True)
    body_type = fields.String(validate=TEXT, allow_none=True)


class PersonSchema(PersonChangesSchema):
    """A person as lists show them: never their vector or image."""

    id = fields.UUID()
    entry_time = fields.DateTime(allow_none=True)
    exit_time = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    has_biometrics = fields.Boolean(metadata={"description": "Whether a vector is still kept"})


class PersonPageSchema(StrictSchema):
    """Seed 004's page envelope."""

    count = fields.Integer()
    total_pages = fields.Integer()
    current_page = fields.Integer()
    page_size = fields.Integer()
    has_next = fields.Boolean()
    has_previous = fields.Boolean()
    next_page = fields.Integer(allow_none=True)
    previous_page = fields.Integer(allow_none=True)
    results = fields.List(fields.Nested(PersonSchema))


class PersonListArgs(StrictSchema):
    page = PageArgs._declared_fields["page"]
    page_size = fields.Integer(load_default=10, validate=validate.Range(min=1, max=500))


class VisitSchema(StrictSchema):
    id = fields.UUID()
    entry_time = fields.DateTime()
    exit_time = fields.DateTime(allow_none=True)
    returning = fields.Boolean(attribute="is_returning")
    similarity = fields.Float(allow_none=True)


class DetectionResultSchema(PersonSchema):
    matched = fields.Boolean(metadata={"description": "A known person of this project came back"})
    similarity = fields.Float(allow_none=True, metadata={"description": "Cosine similarity"})
    visit = fields.Nested(VisitSchema)


class BiometricsSchema(StrictSchema):
    person_id = fields.UUID()
    vector = fields.List(fields.Float(), allow_none=True)
    image_url = fields.String(allow_none=True)


class PersonCartProductSchema(StrictSchema):
    id = fields.UUID(metadata={"description": "The cart product (order item)"})
    product_id = fields.UUID(allow_none=True, metadata={"description": "None for free text"})
    name = fields.String()
    quantity = fields.Integer()
    created_at = fields.DateTime()


class PersonCartSchema(StrictSchema):
    id = fields.UUID(metadata={"description": "The cart's order id in the orders plugin"})
    table_number = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    products = fields.List(fields.Nested(PersonCartProductSchema))


class PersonDetailSchema(PersonSchema):
    """Seed 004's person detail: with carts and their products (to callers who see orders)."""

    carts = fields.List(fields.Nested(PersonCartSchema))


class OrderProductSchema(StrictSchema):
    product_id = fields.UUID(allow_none=True)
    product_name = fields.String()
    quantity = fields.Integer()
    added_at = fields.DateTime()


class PersonOrderSchema(StrictSchema):
    cart_id = fields.UUID()
    table_number = fields.Integer(allow_none=True)
    cart_created_at = fields.DateTime()
    cart_updated_at = fields.DateTime(allow_none=True)
    products = fields.List(fields.Nested(OrderProductSchema))
    total_products = fields.Integer()


class PersonOrdersSchema(StrictSchema):
    person_id = fields.UUID()
    person_name = fields.String(allow_none=True)
    total_orders = fields.Integer()
    orders = fields.List(fields.Nested(PersonOrderSchema))


class DishCountSchema(StrictSchema):
    dish = fields.String()
    count = fields.Integer()


class PersonSummarySchema(StrictSchema):
    person_id = fields.UUID()
    person_name = fields.String(allow_none=True)
    total_visits = fields.Integer()
    first_visit = fields.DateTime(allow_none=True)
    last_visit = fields.DateTime(allow_none=True)
    favorite_table = fields.Integer(
        allow_none=True, metadata={"description": "The table of most carts (lower on a tie)"}
    )
    carts_at_favorite_table = fields.Integer()
    total_carts = fields.Integer()
    favorite_dishes = fields.List(
        fields.Nested(DishCountSchema), metadata={"description": "Most units ordered first"}
    )
    total_spent_items = fields.Integer()
    ai_summary = fields.String(
        metadata={
            "description": "Written by the assistant's provider from these figures only; "
            "kept until they change"
        }
    )


class VisitCountArgs(StrictSchema):
    type = fields.String(load_default="week", validate=validate.OneOf(VISIT_COUNT_TYPES))


class StatisticsPointSchema(StrictSchema):
    date = fields.String()
    type = fields.String()
    value = fields.Integer()
    percentage = fields.Float()


def load_detection(request: Request, max_image_bytes: int) -> tuple[dict[str, Any], bytes | None]:
    """A detection from a JSON body or a multipart form (with an optional ``image`` file); a
    422 naming the fields otherwise. At most ``max_image_bytes`` + 1 bytes of the image are read."""
    image = None
    if request.mimetype == "multipart/form-data":
        extra_files = sorted(set(request.files) - {"image"})
        if extra_files:
            raise Invalid(errors={name: ["Unknown field."] for name in extra_files})
        if "image" in request.files:
            image = request.files["image"].read(max_image_bytes + 1)
        schema, body = DetectionFormSchema(exclude=("image",)), request.form.to_dict()
        if "image" in body:
            raise Invalid(errors={"image": ["Must be a file."]})
    else:
        schema, body = DetectionSchema(), request.get_json(silent=True)
        if body is None:
            raise Invalid("The body must be a JSON object", errors={"json": ["Invalid JSON."]})
    try:
        data = schema.load(body)
    except ValidationError as error:
        messages = error.messages
        errors = messages if isinstance(messages, dict) else {"_schema": messages}
        raise Invalid(errors=errors) from None
    if "vector" not in data and image is None:
        raise Invalid(errors={"vector": ["Missing data for required field (or send an image)."]})
    return data, image
