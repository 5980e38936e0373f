"""Request and response bodies of the assistant endpoints (seed 001)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.schemas import PageArgs, StrictSchema

MESSAGE = validate.Length(min=1, max=4000)


class QueryContextSchema(Schema):
    """Free-form context; ``customer_id`` narrows the assistant to that customer's own data."""

    customer_id = fields.UUID()


class QuerySchema(StrictSchema):
    project_id = fields.UUID(required=True)
    message = fields.String(required=True, validate=MESSAGE)
    conversation_id = fields.UUID(load_default=None)
    use_function_calling = fields.Boolean(load_default=True)
    context = fields.Dict(keys=fields.String(), load_default=dict)
    order_id = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class FunctionCallSchema(Schema):
    name = fields.String()
    parameters = fields.Dict()
    ok = fields.Boolean()
    result = fields.Raw()


class QueryResultSchema(Schema):
    reply = fields.String()
    function_calls = fields.List(fields.Nested(FunctionCallSchema))
    tokens_used = fields.Integer()
    cost = fields.Float()
    model = fields.String()
    conversation_id = fields.UUID()


class GenerateReplySchema(StrictSchema):
    project_id = fields.UUID(required=True)
    order_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    customer_message = fields.String(required=True, validate=MESSAGE)


class SentimentArgsSchema(StrictSchema):
    project_id = fields.UUID(required=True)
    message = fields.String(required=True, validate=MESSAGE)


class SentimentSchema(Schema):
    sentiment = fields.String()
    urgency = fields.String()
    concerns = fields.List(fields.String())
    recommended_tone = fields.String()
    score = fields.Float()


class ReplySchema(Schema):
    reply = fields.String()
    order_id = fields.String()
    analysis = fields.Nested(SentimentSchema)
    function_calls = fields.List(fields.Dict())
    tokens_used = fields.Integer()
    cost = fields.Float()
    model = fields.String()


class UsageArgsSchema(StrictSchema):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=3650))


class UsageSchema(Schema):
    period_days = fields.Integer()
    total_api_calls = fields.Integer()
    total_tokens_used = fields.Integer()
    total_cost_usd = fields.Float()
    average_cost_per_call = fields.Float()
    by_model = fields.List(fields.Dict())


class ConversationSchema(Schema):
    id = fields.UUID()
    title = fields.String()
    audience = fields.String()
    customer_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ConversationMessageSchema(Schema):
    role = fields.String()
    content = fields.String()
    tool_calls = fields.List(fields.Dict())
    tool_name = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ConversationDetailSchema(ConversationSchema):
    messages = fields.List(fields.Nested(ConversationMessageSchema))


class ConversationPageArgs(PageArgs):
    pass
