"""The customer bot: an inbound message answered by the assistant for that customer alone,
within the integration's bot settings.

In order: a conversation waiting for a person gets no bot answer; WhatsApp outside the
24-hour window gets none either (free text would be refused: the conversation goes to a
person); a customer asking for a person (keyword or the Telegram button) is handed off; out
of business hours the out-of-hours reply goes first. Then sentiment: a negative or highly
urgent message is flagged for a human, and the integration's ``human_handoff`` says whether
the bot then stays quiet (``instead``) or answers as well (``also``). An answer no tool could
support, or one the policy refused, is handed to a person instead of sent.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant import services as assistant
from core.context import Context
from core.db import get_scoped, utcnow
from core.projects.models import Project
from plugins.messages import bot_settings, conversations, services
from plugins.messages.models import ChannelConversation, Integration, Message

log = logging.getLogger(__name__)

OUT_OF_HOURS_REPEAT = 12 * 3600
"""Seconds before a conversation gets the out-of-hours reply again."""
DENIED = "Permission denied"


@dataclass
class BotOutcome:
    flagged: bool
    replies: list[Message] = field(default_factory=list)
    skipped: str | None = None
    handoff: str | None = None
    button_press: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "reply_ids": [str(reply.id) for reply in self.replies],
            "skipped": self.skipped,
            "handoff": self.handoff,
        }


def needs_a_human(analysis: dict[str, Any]) -> bool:
    return analysis.get("sentiment") == "negative" or analysis.get("urgency") == "high"


def unanswered_reason(function_calls: list[dict[str, Any]]) -> str | None:
    """Why the assistant's answer should go to a person: the policy refused a tool it called,
    or every tool it called failed. An answer without tools (a greeting, a question back to
    the customer) and one a tool supported are sent."""
    if not function_calls or any(call.get("ok") for call in function_calls):
        return None
    errors = [
        str(call["result"].get("error", ""))
        for call in function_calls
        if isinstance(call.get("result"), dict)
    ]
    if any(error.startswith(DENIED) for error in errors):
        return "policy_refusal"
    return "no_tool_answer"


class _Turn:
    """One message being answered: where replies go and how the conversation changes."""

    def __init__(self, session: Session, ctx: Context, message: Message, integration: Integration):
        self.session, self.ctx, self.message, self.integration = session, ctx, message, integration
        self.settings = bot_settings.effective(integration.bot_settings)
        self.conversation = (
            session.get(ChannelConversation, message.conversation_id)
            if message.conversation_id
            else None
        )
        self.outcome = BotOutcome(False)

    def reply(self, content: str, *, buttons: bool = False) -> None:
        details = None
        if buttons and self.integration.provider == "telegram" and self.settings["handoff_button"]:
            button = {
                "text": self.settings["handoff_button_text"],
                "callback_data": bot_settings.HANDOFF_BUTTON_DATA,
            }
            details = {"buttons": [[button]]}
        self.outcome.replies.append(
            services.create_outbound(
                self.session,
                self.ctx,
                provider=self.message.provider,
                content=content,
                recipient=self.message.sender,
                customer_id=self.message.customer_id,
                order_id=self.message.order_id,
                integration_id=self.integration.id,
                ai_generated=True,
                reply_to_id=self.message.id,
                details=details,
            )
        )

    def hand_off(self, reason: str, note: str | None = None, *, tell: bool = True) -> BotOutcome:
        """Waiting for a person from now on; the customer is told when the channel allows."""
        self.message.needs_human = True
        label = conversations.HANDOFF_LABELS[reason]
        self.message.flag_reason = (self.message.flag_reason or f"handed off: {label}")[:500]
        if self.conversation is not None:
            conversations.hand_off(self.conversation, reason, note)
        if tell and self.settings["handoff_reply"]:
            self.reply(self.settings["handoff_reply"])
        self.outcome.flagged, self.outcome.handoff = True, reason
        self.outcome.skipped = self.outcome.skipped or f"handed to a person: {label}"
        return self.outcome


def answer_customer(session: Session, ctx: Context, message_id: uuid.UUID) -> BotOutcome:
    """Flag, hand off and/or draft the replies to one inbound message; they come back queued."""
    message = get_scoped(session, Message, ctx.project_id, message_id, what="Message")
    integration = (
        session.get(Integration, message.integration_id) if message.integration_id else None
    )
    if integration is None or message.customer_id is None:
        return BotOutcome(False, skipped="no channel or customer to answer")
    answered = session.scalar(select(Message.id).where(Message.reply_to_id == message.id).limit(1))
    if answered is not None:
        return BotOutcome(message.needs_human, skipped="already answered")
    turn = _Turn(session, ctx, message, integration)
    turn.outcome.button_press = bool((message.details or {}).get("callback_query_id"))
    if turn.conversation is not None and turn.conversation.status == "waiting_human":
        turn.outcome.skipped = "the conversation is waiting for a person"
        return turn.outcome
    if integration.provider == "whatsapp" and not conversations.window_open(
        session, integration, conversations.contact_of("whatsapp", message.sender)
    ):
        return turn.hand_off("out_of_window", tell=False)
    option = (message.reply_option or {}).get("id")
    if bot_settings.asks_for_a_person(turn.settings, message.content, option):
        return turn.hand_off("asked_for_human")
    project = session.get(Project, ctx.project_id)
    in_hours = bot_settings.in_business_hours(turn.settings, project.timezone, utcnow())
    if not in_hours:
        _out_of_hours_reply(turn)
    if not integration.auto_reply:
        turn.outcome.skipped = turn.outcome.skipped or "auto-reply is off for this channel"
        return turn.outcome
    if turn.settings["bot_hours"] == "out_of_hours" and in_hours:
        turn.outcome.skipped = "within business hours people answer"
        return turn.outcome
    return _answer(turn)


def _out_of_hours_reply(turn: _Turn) -> None:
    text, conversation = turn.settings["out_of_hours_reply"], turn.conversation
    if not text:
        return
    last = conversation.out_of_hours_replied_at if conversation else None
    if last is not None and (utcnow() - last).total_seconds() < OUT_OF_HOURS_REPEAT:
        return
    turn.reply(text)
    if conversation is not None:
        conversation.out_of_hours_replied_at = utcnow()


def _answer(turn: _Turn) -> BotOutcome:
    message, integration = turn.message, turn.integration
    analysis = assistant.analyze_sentiment(turn.session, turn.ctx, message.content)
    if needs_a_human(analysis):
        turn.outcome.flagged = message.needs_human = True
        concerns = ", ".join(analysis.get("concerns") or []) or "none named"
        message.flag_reason = (
            f"{analysis.get('sentiment')} sentiment, {analysis.get('urgency')} urgency; "
            f"concerns: {concerns}"
        )[:500]
        if integration.human_handoff == "instead":
            if turn.conversation is not None:
                conversations.hand_off(turn.conversation, "sentiment", message.flag_reason)
            turn.outcome.skipped, turn.outcome.handoff = "left for a human", "sentiment"
            return turn.outcome
    customer_ctx = assistant.as_customer(turn.ctx, message.customer_id)
    answer = assistant.ask(
        turn.session,
        customer_ctx,
        message.content,
        extra_context={"channel": message.provider, "order_id": str(message.order_id or "")},
    )
    reason = unanswered_reason(answer["function_calls"])
    if reason is not None and turn.settings["handoff_enabled"]:
        return turn.hand_off(reason)
    turn.reply(answer["reply"], buttons=True)
    return turn.outcome


def acknowledge_button(session_factory: Any, ctx: Context, message_id: uuid.UUID) -> None:
    """Answer a Telegram button press (stops its spinner); a failure only costs the spinner."""
    from connectors.base import ProviderError

    with session_factory() as session:
        message = get_scoped(session, Message, ctx.project_id, message_id, what="Message")
        integration = session.get(Integration, message.integration_id)
        query_id = (message.details or {}).get("callback_query_id")
        if integration is None or not query_id:
            return
        connector = services.connector_for(integration)
    try:
        connector.answer_button(str(query_id))
    except ProviderError:
        log.info("answerCallbackQuery failed for %s", message_id, exc_info=True)
    finally:
        connector.close()
