"""What the memberships routes accept and return (seed 003's membership shape)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates

from core.schemas import PageArgs, StrictSchema
from plugins.memberships.models import TIER_NAME_LENGTH

STATUSES = ("upcoming", "active", "ended")
MAX_TIERS = 20


def _tier_name(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=TIER_NAME_LENGTH), **kwargs)


class MembershipSchema(Schema):
    id = fields.UUID()
    customer_id = fields.UUID()
    start_period = fields.Date()
    end_period = fields.Date()
    tier = fields.String()
    expired_at = fields.DateTime(
        allow_none=True, metadata={"description": "When the daily job marked it expired"}
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class _TierLowered:
    """Tier names are compared in lower case."""

    @post_load
    def _lower_tier(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "tier" in data:
            data["tier"] = data["tier"].strip().lower()
        return data


class MembershipCreateSchema(_TierLowered, StrictSchema):
    customer_id = fields.UUID(required=True)
    start_period = fields.Date(required=True)
    end_period = fields.Date(required=True)
    tier = _tier_name(required=True)


class MembershipUpdateSchema(_TierLowered, StrictSchema):
    """Seed 003's update: the period and tier; the customer stays."""

    start_period = fields.Date(required=True)
    end_period = fields.Date(required=True)
    tier = _tier_name(required=True)


class MembershipListArgs(_TierLowered, PageArgs):
    customer_id = fields.UUID()
    tier = _tier_name()
    status = fields.String(
        validate=validate.OneOf(STATUSES), metadata={"description": "On today's date"}
    )


class TierListSchema(StrictSchema):
    tiers = fields.List(_tier_name(), required=True, validate=validate.Length(min=1, max=MAX_TIERS))

    @validates("tiers")
    def _different_names(self, tiers: list[str], **kwargs: Any) -> None:
        names = [name.strip().lower() for name in tiers]
        if any(not name for name in names):
            raise ValidationError("A tier name cannot be blank.")
        if len(set(names)) != len(names):
            raise ValidationError("Tier names must be different.")

    @post_load
    def _lowered(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["tiers"] = [name.strip().lower() for name in data["tiers"]]
        return data
