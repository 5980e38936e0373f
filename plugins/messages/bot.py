"""The customer bot: an inbound message answered by the assistant for that customer alone.

Sentiment comes first: a negative or highly urgent message is flagged for a human in the
inbox. The integration's ``human_handoff`` says whether the bot then stays quiet
(``instead``) or answers as well (``also``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant import services as assistant
from core.context import Context
from core.db import get_scoped
from plugins.messages import services
from plugins.messages.models import Integration, Message


@dataclass
class BotOutcome:
    flagged: bool
    reply: Message | None
    skipped: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "reply_id": str(self.reply.id) if self.reply else None,
            "skipped": self.skipped,
        }


def needs_a_human(analysis: dict[str, Any]) -> bool:
    return analysis.get("sentiment") == "negative" or analysis.get("urgency") == "high"


def answer_customer(session: Session, ctx: Context, message_id: uuid.UUID) -> BotOutcome:
    """Flag and/or draft the reply to one inbound message; the reply comes back queued."""
    message = get_scoped(session, Message, ctx.project_id, message_id, what="Message")
    integration = (
        session.get(Integration, message.integration_id) if message.integration_id else None
    )
    if integration is None or not integration.auto_reply or message.customer_id is None:
        return BotOutcome(False, None, "auto-reply is off for this channel")
    answered = session.scalar(select(Message.id).where(Message.reply_to_id == message.id).limit(1))
    if answered is not None:
        return BotOutcome(message.needs_human, None, "already answered")
    analysis = assistant.analyze_sentiment(session, ctx, message.content)
    flagged = needs_a_human(analysis)
    if flagged:
        message.needs_human = True
        concerns = ", ".join(analysis.get("concerns") or []) or "none named"
        message.flag_reason = (
            f"{analysis.get('sentiment')} sentiment, {analysis.get('urgency')} urgency; "
            f"concerns: {concerns}"
        )[:500]
        if integration.human_handoff == "instead":
            return BotOutcome(True, None, "left for a human")
    customer_ctx = assistant.as_customer(ctx, message.customer_id)
    answer = assistant.ask(
        session,
        customer_ctx,
        message.content,
        extra_context={"channel": message.provider, "order_id": str(message.order_id or "")},
    )
    reply = services.create_outbound(
        session,
        ctx,
        provider=message.provider,
        content=answer["reply"],
        recipient=message.sender,
        customer_id=message.customer_id,
        order_id=message.order_id,
        integration_id=integration.id,
        ai_generated=True,
        reply_to_id=message.id,
    )
    return BotOutcome(flagged, reply)
