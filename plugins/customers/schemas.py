"""Request and response schemas of /api/v1/customers (seed 002's shapes)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from core.schemas import PageArgs, StrictSchema
from plugins.customers.models import RISK_TIERS

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def normalize_phone(value: str) -> str:
    """``+<country><number>`` without separators, or ``ValueError`` saying what E.164 is."""
    phone = PHONE_SEPARATORS.sub("", value)
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not E164.match(phone):
        raise ValueError(
            f"{value!r} is not an E.164 phone number: use '+', the country code and the "
            "number, e.g. +14155550123"
        )
    return phone


class Phone(fields.String):
    """A phone number stored in E.164 form; spaces, dashes and dots are accepted on input."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalize_phone(text)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class Money(fields.Decimal):
    """An exact two-decimal amount in, a JSON number out."""

    def __init__(self, **kwargs: Any):
        super().__init__(places=2, **kwargs)

    def _serialize(self, value: Decimal | None, attr: str | None, obj: Any, **kwargs: Any):
        return None if value is None else float(value)


def _optional(field: fields.Field) -> fields.Field:
    field.allow_none = True
    return field


class CustomerInputSchema(StrictSchema):
    """A customer as clients send it; only ``name`` is required."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = _optional(fields.Email(validate=validate.Length(max=320)))
    phone = _optional(Phone())
    age = _optional(fields.Integer(strict=True, validate=validate.Range(min=0, max=130)))
    tenure = _optional(fields.Integer(strict=True, validate=validate.Range(min=0, max=100)))
    balance = _optional(Money(validate=validate.Range(min=0, max=Decimal("999999999999"))))
    products = _optional(fields.Integer(strict=True, validate=validate.Range(min=0, max=50)))
    credit_card = _optional(fields.Boolean())
    active = _optional(fields.Boolean())
    salary = _optional(Money(validate=validate.Range(min=0, max=Decimal("999999999999"))))
    credit_score = _optional(fields.Integer(strict=True, validate=validate.Range(min=0, max=1000)))
    geography = _optional(fields.String(validate=validate.Length(min=1, max=64)))
    gender = _optional(fields.String(validate=validate.Length(min=1, max=32)))
    churned = _optional(
        fields.Boolean(metadata={"description": "Known outcome, used to train the churn model"})
    )
    shopify_customer_id = _optional(fields.String(validate=validate.Length(min=1, max=64)))
    whatsapp_phone = _optional(Phone())
    telegram_chat_id = _optional(fields.String(validate=validate.Length(min=1, max=64)))


class CustomerChangesSchema(CustomerInputSchema):
    """Some of a customer's fields (PATCH): every field is optional."""

    def __init__(self, **kwargs: Any):
        super().__init__(partial=True, **kwargs)


class CustomerSchema(CustomerInputSchema):
    id = fields.UUID(dump_only=True)
    risk_score = fields.Float(dump_only=True, allow_none=True)
    risk_tier = fields.String(dump_only=True, allow_none=True)
    last_updated = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class RiskPointSchema(StrictSchema):
    score = fields.Float()
    timestamp = fields.DateTime()


class CustomerDetailSchema(CustomerSchema):
    risk_history = fields.List(fields.Nested(RiskPointSchema), dump_only=True)


class CustomerListArgs(PageArgs):
    search = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Part of the name, email or phone"},
    )
    sort_by = fields.String(
        load_default="created_at",
        validate=validate.OneOf(("id", "name", "risk_score", "created_at")),
    )
    order = fields.String(load_default="asc", validate=validate.OneOf(("asc", "desc")))
    risk_tier = fields.String(validate=validate.OneOf(RISK_TIERS))


class PredictRequestSchema(StrictSchema):
    customer_id = fields.UUID(required=True)


class PredictionSchema(StrictSchema):
    customer_id = fields.UUID()
    risk_score = fields.Float()
    risk_tier = fields.String()
    prediction_time = fields.DateTime()
    model_version = fields.Integer()
    features_used = fields.Dict(keys=fields.String(), values=fields.Raw())


class BatchPredictRequestSchema(StrictSchema):
    customer_ids = fields.List(
        fields.UUID(),
        validate=validate.Length(min=1, max=100_000),
        metadata={"description": "Customers to score; leave out to score every customer"},
    )


class JobAcceptedSchema(StrictSchema):
    job_id = fields.UUID()
    status = fields.String()
    message = fields.String()


class DashboardArgs(StrictSchema):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=366))
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


class HighRiskCustomerSchema(StrictSchema):
    id = fields.UUID()
    name = fields.String()
    email = fields.String(allow_none=True)
    risk_score = fields.Float()
    last_updated = fields.DateTime()


class RiskTrendPointSchema(StrictSchema):
    date = fields.Date()
    average_risk = fields.Float()
    predictions = fields.Integer()


class DashboardSchema(StrictSchema):
    high_risk_customers = fields.List(fields.Nested(HighRiskCustomerSchema))
    risk_distribution = fields.Dict(keys=fields.String(), values=fields.Integer())
    risk_trend = fields.List(fields.Nested(RiskTrendPointSchema))
    thresholds = fields.Dict(keys=fields.String(), values=fields.Float())


class AlertArgs(PageArgs):
    customer_id = fields.UUID()
    start_date = fields.Date()
    end_date = fields.Date()
    alert_type = fields.String(validate=validate.Length(min=1, max=32))
    was_sent = fields.Boolean()

    @validates_schema
    def _check_range(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "start_date" in data and "end_date" in data and data["start_date"] > data["end_date"]:
            raise ValidationError("must not be before start_date", "end_date")


class AlertSchema(StrictSchema):
    id = fields.UUID()
    customer_id = fields.UUID()
    alert_type = fields.String()
    message = fields.String()
    risk_score = fields.Float()
    was_sent = fields.Boolean()
    error_message = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ModelInfoSchema(StrictSchema):
    id = fields.UUID()
    model_version = fields.Integer(attribute="version")
    last_trained = fields.DateTime(attribute="trained_at")
    training_rows = fields.Integer()
    is_active = fields.Boolean()
    metrics = fields.Dict(keys=fields.String(), values=fields.Float())
    feature_importance = fields.Dict(keys=fields.String(), values=fields.Float())
