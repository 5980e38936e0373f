"""Assistant tools over the inbox: unread messages, one customer's conversation (found by
what the operator types, through the customers plugin's lookup) and the conversations the bot
handed to a person. Each reads through the same services as the inbox routes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from assistant.tools import ToolContext, tool
from plugins.customers.lookup import find_customers
from plugins.messages import services
from plugins.messages.models import Message
from plugins.messages.schemas import ChannelMessageSchema

MAX_MESSAGES = 50
MESSAGE_FIELDS = (
    "id",
    "customer_id",
    "provider",
    "direction",
    "content",
    "sender",
    "is_read",
    "ai_generated",
    "needs_human",
    "flag_reason",
    "created_at",
)


def _messages(ctx: ToolContext, filters: dict[str, Any], limit: int) -> dict[str, Any]:
    statement = services.inbox(ctx.context, filters)
    messages = list(ctx.session.scalars(statement.limit(max(1, min(limit, MAX_MESSAGES)))))
    total = ctx.session.scalar(
        select(func.count()).select_from(statement.order_by(None).subquery())
    )
    return {"total": total, "messages": _dump(messages)}


def _dump(messages: list[Message]) -> list[dict[str, Any]]:
    return ChannelMessageSchema(many=True, only=MESSAGE_FIELDS).dump(messages)


@tool(
    permission="view_messages",
    examples=("show me the messages nobody has opened yet", "what's sitting unread in the inbox"),
)
def unread_messages(ctx: ToolContext, limit: int = 20) -> dict[str, Any]:
    """Received messages nobody has read yet, newest first (at most ``limit``), with how many
    there are in all."""
    return _messages(ctx, {"direction": "inbound", "is_read": False}, limit)


@tool(
    permission="view_messages",
    examples=(
        "which chats did the bot hand over to staff?",
        "who is waiting for a person to reply",
    ),
)
def messages_waiting_for_human(ctx: ToolContext, limit: int = 20) -> dict[str, Any]:
    """Unread received messages the bot flagged for a person (with the reason), newest first:
    the conversations waiting for a human."""
    filters = {"direction": "inbound", "is_read": False, "needs_human": True}
    return _messages(ctx, filters, limit)


@tool(
    permission="view_messages",
    examples=("show the chat history with anna hargrave", "what did +1 415 555 0100 write to us"),
)
def customer_conversation(ctx: ToolContext, customer: str, limit: int = 30) -> dict[str, Any]:
    """The latest messages with one customer (oldest first), the customer given as typed: a
    name (any case, typos), email, phone or id. When the name fits several customers, the
    candidates come back instead of messages."""
    found = find_customers(ctx.session, ctx.context, customer)
    people = [
        {"id": str(person.id), "name": person.name, "email": person.email, "phone": person.phone}
        for person in found.candidates
    ]
    if found.match is None:
        return {"customer": None, "candidates": people, "messages": []}
    statement = services.conversation(ctx.context, customer_id=found.match.id)
    newest = statement.order_by(None).order_by(Message.created_at.desc(), Message.id.desc())
    messages = list(ctx.session.scalars(newest.limit(max(1, min(limit, MAX_MESSAGES)))))
    return {"customer": people[0], "candidates": [], "messages": _dump(messages[::-1])}


TOOLS = (unread_messages, messages_waiting_for_human, customer_conversation)
