"""The messages plugin's metrics: inbound, outbound, unread, waiting for a human,
AI-answered share and first-response time, over ``messages``."""

from __future__ import annotations

from sqlalchemy import func, select

from core.metrics import Dimension, Metric
from core.metrics.registry import seconds_between
from plugins.messages.models import Message

messages = Message.__table__
inbound = messages.c.direction == "inbound"
outbound = messages.c.direction == "outbound"
question, reply = messages.alias("question"), messages.alias("reply")
first_replies = (
    select(
        question.c.project_id,
        question.c.provider,
        question.c.created_at,
        func.min(reply.c.created_at).label("replied_at"),
    )
    .join_from(question, reply, reply.c.reply_to_id == question.c.id)
    .where(question.c.direction == "inbound", reply.c.direction == "outbound")
    .group_by(question.c.id, question.c.project_id, question.c.provider, question.c.created_at)
    .subquery("first_replies")
)

CHANNEL = Dimension("channel", "Channel", messages.c.provider, words=("provider", "platform"))
MESSAGE_SOURCE = {
    "permission": "view_messages",
    "source": messages,
    "project_column": messages.c.project_id,
    "time_column": messages.c.created_at,
    "dimensions": (CHANNEL,),
}
NOW = {**MESSAGE_SOURCE, "time_column": None}

METRICS = (
    Metric(
        name="inbound_messages",
        label="Messages received",
        unit="count",
        measure="count",
        condition=inbound,
        words=("inbound messages", "messages received", "incoming messages", "customer messages"),
        examples=("How many messages did customers send us this week?",),
        **MESSAGE_SOURCE,
    ),
    Metric(
        name="outbound_messages",
        label="Messages sent",
        unit="count",
        measure="count",
        condition=outbound,
        words=("outbound messages", "messages sent", "replies sent"),
        **MESSAGE_SOURCE,
    ),
    Metric(
        name="ai_answered_messages",
        label="Messages answered by the AI",
        unit="count",
        measure="count",
        condition=outbound & messages.c.ai_generated.is_(True),
        words=("bot replies", "ai replies", "automatic answers"),
        **MESSAGE_SOURCE,
    ),
    Metric(
        name="ai_answered_share",
        label="Share of replies written by the AI",
        unit="percent",
        measure="ratio",
        numerator="ai_answered_messages",
        denominator="outbound_messages",
        words=("ai share", "bot share", "automated share", "answered by ai"),
        examples=("What share of our replies did the bot write last month?",),
        **MESSAGE_SOURCE,
    ),
    Metric(
        name="unread_messages",
        label="Unread messages",
        unit="count",
        measure="count",
        condition=inbound & messages.c.is_read.is_(False),
        description="Received messages nobody has read yet, now",
        words=("unread", "unread messages", "new messages", "not read"),
        examples=("Any unread customer messages?",),
        **NOW,
    ),
    Metric(
        name="messages_needing_human",
        label="Messages waiting for a person",
        unit="count",
        measure="count",
        condition=inbound & messages.c.needs_human.is_(True) & messages.c.is_read.is_(False),
        description="Unread received messages the bot flagged for a person, now",
        words=("needs human", "waiting for a human", "flagged messages", "escalated"),
        **NOW,
    ),
    Metric(
        name="first_response_time",
        label="First response time",
        unit="duration",
        measure="avg",
        permission="view_messages",
        source=first_replies,
        project_column=first_replies.c.project_id,
        time_column=first_replies.c.created_at,
        expression=seconds_between(first_replies.c.replied_at, first_replies.c.created_at),
        dimensions=(Dimension("channel", "Channel", first_replies.c.provider),),
        description="Seconds from a received message to the first reply to it (average)",
        words=("response time", "first response", "reply time", "how fast do we answer"),
        examples=("How quickly do we answer messages?",),
    ),
)
