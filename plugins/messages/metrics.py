"""The messages plugin's metrics: inbound, outbound, all, unread and flagged for a human
(now, and of the period's received messages), AI-answered share, first-response time and
customers' sentiment, over ``messages``; and the bot's outcomes over
``channel_conversations``: conversations the bot handled alone, handoffs and their reasons,
first-response time of the bot and of people, conversations reopened within 7 days."""

from __future__ import annotations

from sqlalchemy import func, select

from core.metrics import Dimension, Metric
from core.metrics.registry import seconds_between
from plugins.messages.models import (
    HANDOFF_REASONS,
    SENTIMENT_LABELS,
    ChannelConversation,
    Message,
)

messages = Message.__table__
inbound = messages.c.direction == "inbound"
outbound = messages.c.direction == "outbound"
unread = inbound & messages.c.is_read.is_(False)
flagged_for_human = inbound & messages.c.needs_human.is_(True)
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
MESSAGE_STATUS = Dimension("message_status", "Message status", messages.c.status)
"""Received for a customer's message; queued, sent, delivered, read or failed for ours. Its
values are not declared: the assistant would read "sent" in "did the bot send" or "read" in
"did anyone read" as filters; a filter value is checked against the project's messages."""
MESSAGE_SOURCE = {
    "permission": "view_messages",
    "source": messages,
    "project_column": messages.c.project_id,
    "time_column": messages.c.created_at,
    "dimensions": (CHANNEL,),
}
NOW = {**MESSAGE_SOURCE, "time_column": None}
scored = inbound & messages.c.sentiment.is_not(None)
SENTIMENT = Dimension(
    "sentiment",
    "Sentiment",
    messages.c.sentiment,
    values=SENTIMENT_LABELS,
    words=("mood", "tone", "positive or negative"),
)
SENTIMENT_SOURCE = {**MESSAGE_SOURCE, "dimensions": (CHANNEL, SENTIMENT)}
"""Customers' messages that have a sentiment (``plugins.messages.sentiment``): messages with
no text are not scored, outbound ones never."""

chats = ChannelConversation.__table__
CONVERSATION_CHANNEL = Dimension("channel", "Channel", chats.c.provider, words=("provider",))
CONVERSATION_SOURCE = {
    "permission": "view_messages",
    "source": chats,
    "project_column": chats.c.project_id,
    "time_column": chats.c.opened_at,
    "dimensions": (CONVERSATION_CHANNEL,),
}
handed_off = chats.c.handed_off_at.is_not(None)
solved_by_bot = (chats.c.bot_replies > 0) & (chats.c.human_replies == 0) & ~handed_off

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
        words=(
            "bot replies",
            "ai replies",
            "automatic answers",
            "bot answers",
            "answered by the bot",
        ),
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
        condition=unread,
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
        condition=flagged_for_human & messages.c.is_read.is_(False),
        description="Unread received messages the bot flagged for a person, now",
        words=("needs human", "waiting for a human", "flagged messages", "escalated"),
        **NOW,
    ),
    Metric(
        name="all_messages",
        label="Messages received and sent",
        unit="count",
        measure="count",
        description="Messages of both directions, by when they were received or written",
        words=("all messages", "message volume", "messages exchanged"),
        **{**MESSAGE_SOURCE, "dimensions": (CHANNEL, MESSAGE_STATUS)},
    ),
    Metric(
        name="unread_received_messages",
        label="Messages received in the period still unread",
        unit="count",
        measure="count",
        condition=unread,
        description="Received messages of the period nobody has read yet (unread_messages "
        "counts every unread message, however old)",
        **MESSAGE_SOURCE,
    ),
    Metric(
        name="messages_flagged_for_human",
        label="Received messages flagged for a person",
        unit="count",
        measure="count",
        condition=flagged_for_human,
        description="Received messages of the period the bot flagged for a person, read since "
        "or not (messages_needing_human counts the unread ones, now)",
        **MESSAGE_SOURCE,
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
    Metric(
        name="average_sentiment",
        label="Average sentiment of customer messages",
        unit="number",
        measure="avg",
        condition=scored,
        expression=messages.c.sentiment_score,
        description="Customers' messages scored from -1 (most negative) to 1 (most positive), "
        "averaged; 0 is neutral",
        words=(
            "sentiment",
            "average sentiment",
            "customer sentiment",
            "mood",
            "customer mood",
            "how happy are customers",
            "tone of messages",
        ),
        examples=("How was customer sentiment last month?",),
        **SENTIMENT_SOURCE,
    ),
    Metric(
        name="scored_messages",
        label="Customer messages scored for sentiment",
        unit="count",
        measure="count",
        condition=scored,
        description="Received messages with text, each labelled positive, neutral or negative",
        words=("messages by sentiment", "sentiment breakdown", "sentiment of messages"),
        examples=("How many positive and negative messages did we get this week?",),
        **SENTIMENT_SOURCE,
    ),
    Metric(
        name="negative_messages",
        label="Negative customer messages",
        unit="count",
        measure="count",
        condition=scored & (messages.c.sentiment == "negative"),
        words=(
            "negative messages",
            "complaints",
            "unhappy customers",
            "angry customers",
            "upset customers",
            "dissatisfied customers",
        ),
        examples=("How many unhappy customers wrote to us this week?",),
        **SENTIMENT_SOURCE,
    ),
    Metric(
        name="positive_messages",
        label="Positive customer messages",
        unit="count",
        measure="count",
        condition=scored & (messages.c.sentiment == "positive"),
        words=("positive messages", "happy customers", "compliments", "praise", "satisfied"),
        **SENTIMENT_SOURCE,
    ),
    Metric(
        name="negative_message_share",
        label="Share of customer messages that are negative",
        unit="percent",
        measure="ratio",
        numerator="negative_messages",
        denominator="scored_messages",
        words=("complaint rate", "share of complaints", "negative share", "unhappy share"),
        **SENTIMENT_SOURCE,
    ),
    Metric(
        name="customer_conversations",
        label="Customer conversations",
        unit="count",
        measure="count",
        description="Conversations customers opened on a channel (counted when opened)",
        words=("conversations", "chats", "customer chats", "threads", "tickets", "support tickets"),
        **CONVERSATION_SOURCE,
    ),
    Metric(
        name="bot_solved_conversations",
        label="Conversations the bot handled alone",
        unit="count",
        measure="count",
        condition=solved_by_bot,
        description="Conversations the bot answered with no person replying and no handoff",
        words=(
            "solved by the bot",
            "bot alone",
            "bot solved",
            "handled by the bot",
            "without a human",
            "on its own",
            "by itself",
        ),
        examples=("How many chats did the bot solve last week?",),
        **CONVERSATION_SOURCE,
    ),
    Metric(
        name="bot_solved_share",
        label="Share of conversations the bot handled alone",
        unit="percent",
        measure="ratio",
        numerator="bot_solved_conversations",
        denominator="customer_conversations",
        words=("bot resolution rate", "containment rate", "automation rate"),
        **CONVERSATION_SOURCE,
    ),
    Metric(
        name="handed_off_conversations",
        label="Conversations handed to a person",
        unit="count",
        measure="count",
        condition=handed_off,
        description="Conversations the bot handed to a person, by the first reason",
        words=(
            "handoffs",
            "handed off",
            "escalations",
            "passed to a human",
            "handed to a human",
            "handed over",
        ),
        examples=("Why did the bot pass chats to a person this month?",),
        **{
            **CONVERSATION_SOURCE,
            "dimensions": (
                CONVERSATION_CHANNEL,
                Dimension(
                    "handoff_reason",
                    "Handoff reason",
                    chats.c.handoff_reason,
                    values=HANDOFF_REASONS,
                    words=("reason", "why"),
                ),
            ),
        },
    ),
    Metric(
        name="handoff_rate",
        label="Handoff rate",
        unit="percent",
        measure="ratio",
        numerator="handed_off_conversations",
        denominator="customer_conversations",
        words=("handoff rate", "escalation rate", "share handed off"),
        **CONVERSATION_SOURCE,
    ),
    Metric(
        name="conversations_waiting_for_human",
        label="Conversations waiting for a person",
        unit="count",
        measure="count",
        condition=chats.c.status == "waiting_human",
        description="Conversations handed off and not yet closed or handed back, now",
        words=("waiting for a person", "human queue", "handoff queue"),
        **{**CONVERSATION_SOURCE, "time_column": None},
    ),
    Metric(
        name="conversation_first_response_time",
        label="First response time per conversation",
        unit="duration",
        measure="avg",
        condition=chats.c.first_response_at.is_not(None),
        expression=seconds_between(chats.c.first_response_at, chats.c.opened_at),
        description="Seconds from a conversation's first message to its first reply, by who "
        "replied first (bot or human)",
        words=("bot response time", "human response time", "time to first reply"),
        **{
            **CONVERSATION_SOURCE,
            "dimensions": (
                CONVERSATION_CHANNEL,
                Dimension(
                    "responder",
                    "First responder",
                    chats.c.first_responder,
                    values=("bot", "human"),
                    words=("bot or human", "who answered"),
                ),
            ),
        },
    ),
    Metric(
        name="reopened_conversations",
        label="Conversations reopened within 7 days",
        unit="count",
        measure="count",
        condition=chats.c.reopened_from_id.is_not(None),
        description="Conversations a customer opened within 7 days of the last one closing",
        words=("reopened", "came back", "returned within a week", "reopen"),
        **CONVERSATION_SOURCE,
    ),
)
