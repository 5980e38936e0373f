"""The messages plugin's part of reports: the messages report (with customers' sentiment),
and the inbox in performance."""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def report_sections(register):
    register(
        "messages",
        "messages",
        "Messages",
        figures=(
            "inbound_messages",
            "outbound_messages",
            "ai_answered_share",
            "first_response_time",
            "unread_messages",
            "messages_needing_human",
        ),
        tables=(
            {
                "name": "messages_by_channel",
                "title": "Messages by channel",
                "metrics": ("inbound_messages", "outbound_messages", "ai_answered_messages"),
                "group_by": ("channel",),
                "order": "-inbound_messages",
                "chart": "arc",
            },
            {
                "name": "messages_by_day",
                "title": "Messages received by day",
                "metrics": ("inbound_messages", "outbound_messages"),
                "group_by": ("day",),
                "chart": "line",
            },
            {
                "name": "response_time_by_channel",
                "title": "First response time by channel",
                "metrics": ("first_response_time",),
                "group_by": ("channel",),
                "chart": "bar",
            },
        ),
    )
    register(
        "messages",
        "sentiment",
        "Customer sentiment",
        figures=(
            "average_sentiment",
            "negative_messages",
            "negative_message_share",
            "positive_messages",
            "scored_messages",
        ),
        tables=(
            {
                "name": "messages_by_sentiment",
                "title": "Customer messages by sentiment",
                "metrics": ("scored_messages",),
                "group_by": ("sentiment",),
                "order": "-scored_messages",
                "chart": "arc",
            },
            {
                "name": "sentiment_by_day",
                "title": "Average sentiment by day",
                "metrics": ("average_sentiment", "negative_messages", "positive_messages"),
                "group_by": ("day",),
                "chart": "line",
            },
            {
                "name": "sentiment_by_channel",
                "title": "Sentiment by channel",
                "metrics": ("average_sentiment", "negative_messages", "scored_messages"),
                "group_by": ("channel",),
                "order": "-average_sentiment",
                "chart": "bar",
            },
        ),
    )
    register(
        "performance",
        "messages",
        "Messages",
        figures=("inbound_messages", "first_response_time", "unread_messages"),
    )
