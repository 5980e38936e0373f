"""What the reports routes accept and return (seed 001's report shape)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from core.scheduler import FREQUENCIES
from core.schemas import PageArgs, StrictSchema
from plugins.reports.models import TYPE_LENGTH

DAY_OR_TIME = "A day (2025-01-31) or a UTC time (2025-01-31T23:59:59Z): its day in the project"
MAX_FILTERS = 20


class DayOrTime(fields.Field):
    """A day, or a time with its zone (read as the day it falls on in the project)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date | datetime:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("Give a date (YYYY-MM-DD) or an ISO-8601 time.")
        text = value.strip()
        try:
            if len(text) == 10:
                moment: date | datetime = date.fromisoformat(text)
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("Give a date (YYYY-MM-DD) or an ISO-8601 time.") from None
        if not 1901 <= moment.year <= 2199:
            raise ValidationError("Give a date from the years 1901 to 2199.")
        if isinstance(moment, datetime) and moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment


class FiltersField(fields.Dict):
    """``{dimension: value or [values]}``; which dimensions exist depends on the report type."""

    def __init__(self, **kwargs: Any):
        super().__init__(
            keys=fields.String(validate=validate.Length(min=1, max=64)),
            validate=validate.Length(max=MAX_FILTERS),
            metadata={
                "description": "Dimension -> value or list of values, e.g. "
                '{"provider": "shopify"}; GET /reports/{project_id}/types lists each '
                "type's filters"
            },
            **kwargs,
        )


class GenerateReportSchema(StrictSchema):
    report_type = fields.String(
        required=True,
        validate=validate.Length(min=1, max=TYPE_LENGTH),
        metadata={"description": "sales, messages, performance, or a type a plugin adds"},
    )
    start_date = DayOrTime(required=True, metadata={"description": DAY_OR_TIME})
    end_date = DayOrTime(required=True, metadata={"description": DAY_OR_TIME})
    filters = FiltersField(load_default=dict)


class ReportSchema(Schema):
    id = fields.UUID()
    project_id = fields.UUID()
    report_type = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    filters = fields.Dict()
    summary = fields.String()
    payload = fields.Dict(metadata={"description": "Figures, sections, tables and charts"})
    generated_at = fields.DateTime()
    schedule_id = fields.UUID(allow_none=True)


class ReportListItemSchema(Schema):
    """A report in a list: everything but the payload."""

    id = fields.UUID()
    project_id = fields.UUID()
    report_type = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    filters = fields.Dict()
    summary = fields.String()
    generated_at = fields.DateTime()
    schedule_id = fields.UUID(allow_none=True)


class ReportListArgs(PageArgs):
    report_type = fields.String(validate=validate.Length(min=1, max=TYPE_LENGTH))


class CsvArgs(StrictSchema):
    table = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "One table's rows with its own columns; without it, every "
            "table's rows as section,table,row,column,value"
        },
    )


class ReportJobSchema(StrictSchema):
    job_id = fields.UUID()
    status = fields.String()
    message = fields.String()


class ReportTypeSchema(Schema):
    report_type = fields.String()
    sections = fields.List(fields.Dict())
    filters = fields.List(fields.String())


class ScheduleCreateSchema(StrictSchema):
    report_type = fields.String(required=True, validate=validate.Length(min=1, max=TYPE_LENGTH))
    frequency = fields.String(required=True, validate=validate.OneOf(FREQUENCIES))
    filters = FiltersField(load_default=dict)


class ScheduleSchema(Schema):
    id = fields.UUID()
    report_type = fields.String()
    frequency = fields.String()
    filters = fields.Dict()
    next_run_at = fields.DateTime()
    last_run_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
