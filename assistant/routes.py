"""/api/v1/assistant: questions, reply drafts, sentiment, usage, history and a WebSocket chat."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError
from simple_websocket import Server

from assistant import services
from assistant.schemas import (
    ConversationDetailSchema,
    ConversationSchema,
    GenerateReplySchema,
    QueryResultSchema,
    QuerySchema,
    ReplySchema,
    SentimentArgsSchema,
    SentimentSchema,
    UsageArgsSchema,
    UsageSchema,
)
from core.context import Context, current_principal, project_context
from core.db import close_request_session, get_session
from core.errors import Invalid, NebuloError, utc_timestamp
from core.http import any_query_parameters
from core.limits import rate_limit
from core.pagination import paginate
from core.schemas import PageArgs

PERMISSION = "use_assistant"
WS_PATH = "/api/v1/assistant/ws"

blp = Blueprint(
    "assistant", __name__, url_prefix="/assistant", description="The conversational assistant"
)


def _body_or_query(schema_class) -> dict[str, Any]:
    """Seed 001 sends these as query parameters; a JSON body works too. Callers authenticate
    first, so an anonymous request is a 401 whatever it sends."""
    current_principal()
    raw = request.get_json(silent=True) if request.is_json else request.args.to_dict()
    if raw is None:
        raise Invalid(
            "The request body is not a JSON object", errors={"_schema": ["Expected a JSON object"]}
        )
    try:
        return schema_class().load(raw)
    except ValidationError as error:
        errors = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        raise Invalid(
            "Validation failed for: " + ", ".join(sorted(errors)), errors=errors
        ) from None


def _query_parameters_doc(schema_class) -> dict[str, Any]:
    """What :func:`_body_or_query` reads, as optional query parameters of the OpenAPI document
    (they are optional there: a JSON body may carry them instead)."""
    return {"parameters": [{"in": "query", "schema": schema_class(partial=True)}]}


def _caller(project_id: uuid.UUID, extra: dict[str, Any]) -> Context:
    ctx = project_context(project_id, PERMISSION)
    customer = extra.pop("customer_id", None)
    if customer is not None:
        try:
            return services.as_customer(ctx, uuid.UUID(str(customer)))
        except ValueError:
            raise Invalid(errors={"context": {"customer_id": ["Not a valid UUID."]}}) from None
    return ctx


@blp.route("/query")
class Query(MethodView):
    @rate_limit("ai")
    @blp.arguments(QuerySchema)
    @blp.response(200, QueryResultSchema)
    def post(self, args):
        """Ask the assistant; it may call tools. Continue a conversation with conversation_id."""
        extra = dict(args["context"])
        ctx = _caller(args["project_id"], extra)
        if args["order_id"]:
            extra["order_id"] = args["order_id"]
        session = get_session()
        result = services.ask(
            session,
            ctx,
            args["message"],
            conversation_id=args["conversation_id"],
            use_function_calling=args["use_function_calling"],
            extra_context=extra,
        )
        session.commit()
        return result


@blp.route("/generate-reply")
class GenerateReply(MethodView):
    @rate_limit("ai")
    @blp.response(200, ReplySchema)
    @blp.doc(**_query_parameters_doc(GenerateReplySchema))
    def post(self):
        """Draft a reply to a customer's message about an order (query parameters or JSON)."""
        args = _body_or_query(GenerateReplySchema)
        ctx = project_context(args["project_id"], PERMISSION)
        session = get_session()
        result = services.generate_reply(session, ctx, args["order_id"], args["customer_message"])
        session.commit()
        return result


@blp.route("/analyze-sentiment")
class AnalyzeSentiment(MethodView):
    @rate_limit("ai")
    @blp.response(200, SentimentSchema)
    @blp.doc(**_query_parameters_doc(SentimentArgsSchema))
    def post(self):
        """Sentiment, urgency, concerns and recommended tone of a message (query or JSON)."""
        args = _body_or_query(SentimentArgsSchema)
        ctx = project_context(args["project_id"], PERMISSION)
        session = get_session()
        result = services.analyze_sentiment(session, ctx, args["message"])
        session.commit()
        return result


@blp.route("/usage/<uuid:project_id>")
class UsageView(MethodView):
    @blp.arguments(UsageArgsSchema, location="query")
    @blp.response(200, UsageSchema)
    def get(self, args, project_id):
        """Model calls, tokens and cost over the last ``days`` days."""
        project_context(project_id, PERMISSION)
        return services.usage_summary(get_session(), project_id, args["days"])


@blp.route("/<uuid:project_id>/conversations")
class Conversations(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ConversationSchema(many=True))
    def get(self, args, project_id):
        """Your conversations in this project, most recent first."""
        ctx = project_context(project_id, PERMISSION)
        return paginate(get_session(), services.conversations_query(ctx), args)


@blp.route("/<uuid:project_id>/conversations/<uuid:conversation_id>")
class ConversationView(MethodView):
    @blp.response(200, ConversationDetailSchema)
    def get(self, project_id, conversation_id):
        """One of your conversations with its messages and tool calls."""
        ctx = project_context(project_id, PERMISSION)
        return services.conversation_view(get_session(), ctx, conversation_id)


def _send(ws: Server, frame: dict[str, Any]) -> None:
    ws.send(json.dumps(frame, default=str))


@any_query_parameters
def assistant_chat(ws: Server) -> None:
    """WebSocket chat: send ``{"project_id", "message", "conversation_id"?}``; receive one frame
    per step (``tool_call``, ``tool_result``, ``reply``) then ``done`` with the full result.
    Errors come as ``{"type": "error", "detail", "code", "timestamp"}``; the socket stays open."""
    while True:
        raw = ws.receive()
        try:
            args = QuerySchema().load(json.loads(raw))
            extra = dict(args["context"])
            ctx = _caller(args["project_id"], extra)
            session = get_session()
            result = services.ask(
                session,
                ctx,
                args["message"],
                conversation_id=args["conversation_id"],
                use_function_calling=args["use_function_calling"],
                extra_context=extra,
                on_step=lambda event: _send(ws, {"type": event.type, **event.data}),
            )
            session.commit()
            _send(ws, {"type": "done", **QueryResultSchema().dump(result)})
        except (json.JSONDecodeError, TypeError):
            _send(
                ws,
                {
                    "type": "error",
                    "detail": "Send a JSON object",
                    "code": "BAD_REQUEST",
                    "timestamp": utc_timestamp(),
                },
            )
        except ValidationError as error:
            _send(
                ws,
                {
                    "type": "error",
                    "detail": "Validation failed",
                    "code": "VALIDATION_ERROR",
                    "errors": error.messages,
                    "timestamp": utc_timestamp(),
                },
            )
        except NebuloError as error:
            get_session().rollback()
            _send(
                ws,
                {
                    "type": "error",
                    "detail": error.detail,
                    "code": error.code,
                    "timestamp": utc_timestamp(),
                },
            )
        finally:
            close_request_session()


@blp.record_once
def _mount_websocket(state) -> None:
    state.app.extensions["nebulo"].sock.route(WS_PATH, endpoint="assistant_chat")(assistant_chat)
