"""The messages plugin's share of the demo: a WhatsApp and a Telegram integration (made-up
secrets of the right shape, encrypted like real ones) and a month of conversations with
customers, so that the inbox, the message tools and every messages metric have data.

The writers are demo customers (from the customers plugin's demo) who get a WhatsApp phone or
a Telegram chat; their messages find them as the webhook flow does
(:func:`plugins.messages.links.customer_for_sender`). Replies point at the message they
answer, some written by the AI; the latest questions are unread, a few flagged for a person."""

from __future__ import annotations

import random
import string
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Context
from core.db import utcnow
from plugins.customers import services as customer_services
from plugins.customers.models import Customer
from plugins.messages import conversations, links, sentiment, services
from plugins.messages.models import ChannelConversation, Integration, Message

SEED = 14
DAYS = 30
WHATSAPP_WRITERS = 6
TELEGRAM_WRITERS = 3
FIRST_PHONE = 14155550111
FIRST_CHAT_ID = 581234001
QUESTIONS = (
    "Hi! Is my order on its way?",
    "Do you have oat milk in stock today?",
    "What time do you open on Sunday?",
    "Can I change the delivery address of my order?",
    "Are the almond croissants vegan?",
    "I'd like to order 2 bags of espresso beans.",
    "Thanks, the coffee was great!",
)
ESCALATIONS = (
    ("My order arrived damaged, I want a refund.", "refund request"),
    ("Nobody answered my email, this is the third time I write! Awful service.", "angry customer"),
    ("Can I speak to the manager about a catering order for 40 people?", "asks for a person"),
)
REPLIES = (
    "Thanks for writing! Your order is being prepared and ships today.",
    "Yes, we have it in stock. See you soon!",
    "We open at 9:00 on Sundays.",
    "Of course, send us the new address and we will update it.",
)
UNREAD_QUESTIONS = 4
QUIET = timedelta(days=2)
"""A demo conversation this long without a customer message was closed."""
"""The latest questions nobody has read yet (besides the ones flagged for a person)."""


def load_demo_messages(session: Session, project_id: uuid.UUID) -> None:
    """Integrations, customers' conversations and replies over the last :data:`DAYS` days."""
    rng = random.Random(SEED)
    ctx = services.system_context(project_id)
    whatsapp = services.connect_integration(
        session, ctx, "whatsapp", _whatsapp_config(rng), auto_reply=True, human_handoff="also"
    )
    telegram = services.connect_integration(
        session, ctx, "telegram", _telegram_config(rng), auto_reply=True
    )
    writers = list(
        session.scalars(
            customer_services.list_customers(ctx, {"sort_by": "name"}).limit(
                WHATSAPP_WRITERS + TELEGRAM_WRITERS
            )
        )
    )
    now = utcnow()
    questions: list[Message] = []
    for position, writer in enumerate(writers):
        integration = whatsapp if position < WHATSAPP_WRITERS else telegram
        sender = _give_channel(session, ctx, writer, integration.provider, position)
        customer = links.customer_for_sender(session, ctx, integration.provider, sender)
        for _ in range(rng.randint(2, 4)):
            sent = now - timedelta(days=rng.uniform(0.2, DAYS - 1), minutes=rng.randint(0, 59))
            questions.append(
                _inbound(integration, sender, customer.id, rng.choice(QUESTIONS), sent)
            )
    questions.sort(key=lambda message: message.created_at)
    session.add_all(questions)
    session.flush()
    answered, unread = questions[:-UNREAD_QUESTIONS], questions[-UNREAD_QUESTIONS:]
    for position, question in enumerate(answered):
        question.is_read, question.read_at = True, question.created_at + timedelta(minutes=2)
        delay = timedelta(minutes=rng.randint(1, 90))
        session.add(_reply(question, rng.choice(REPLIES), delay, by_ai=position % 3 != 0))
    for question, (text, reason) in zip(reversed(answered), ESCALATIONS, strict=False):
        session.add(_escalation(question, text, reason))
    for question in unread:
        question.is_read, question.read_at = False, None
    session.flush()
    _file_conversations(session, {whatsapp.id: whatsapp, telegram.id: telegram})


def _file_conversations(session: Session, integrations: dict[uuid.UUID, Integration]) -> None:
    """File the demo's messages in conversations, oldest first, as live traffic would be: the
    bot outcome metrics then have something to count. A flagged question hands off."""
    messages = session.scalars(
        select(Message)
        .where(Message.integration_id.in_(list(integrations)))
        .order_by(Message.created_at, Message.id)
    ).all()
    for message in messages:
        integration = integrations[message.integration_id]
        if message.direction == "outbound":
            conversations.record_reply(session, integration, message, at=message.created_at)
            continue
        _close_if_quiet(session, integration, message)
        conversation = conversations.track_inbound(session, integration, message)
        if message.needs_human and conversation is not None:
            conversations.hand_off(conversation, "sentiment", message.flag_reason)
    session.flush()


def _close_if_quiet(session: Session, integration: Integration, message: Message) -> None:
    """An operator closed the customer's conversation a day after it went quiet (for two
    days or more); their next message opens a new one."""
    contact = conversations.contact_of(integration.provider, message.sender)
    quiet = session.scalar(
        select(ChannelConversation).where(
            ChannelConversation.integration_id == integration.id,
            ChannelConversation.contact == contact,
            ChannelConversation.status != "closed",
            ChannelConversation.last_inbound_at < message.created_at - QUIET,
        )
    )
    if quiet is not None:
        quiet.status, quiet.closed_at = "closed", quiet.last_inbound_at + timedelta(days=1)
        session.flush()


def _token(rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits):
    return "".join(rng.choice(alphabet) for _ in range(length))


def _whatsapp_config(rng: random.Random) -> dict[str, str]:
    return {
        "phone_number_id": str(rng.randint(10**14, 10**15 - 1)),
        "access_token": "EAAG" + _token(rng, 180),
        "app_secret": _token(rng, 32, string.hexdigits.lower()[:16]),
        "verify_token": "demo-" + _token(rng, 24),
    }


def _telegram_config(rng: random.Random) -> dict[str, str]:
    return {
        "bot_token": f"{rng.randint(10**9, 10**10 - 1)}:AA{_token(rng, 33)}",
        "secret_token": _token(rng, 32),
    }


def _give_channel(
    session: Session, ctx: Context, customer: Customer, provider: str, position: int
) -> dict[str, str]:
    """Give a demo customer a WhatsApp phone or a Telegram chat; the sender they write as."""
    if provider == "telegram":
        chat_id = str(FIRST_CHAT_ID + position)
        customer_services.update_customer(session, ctx, customer.id, {"telegram_chat_id": chat_id})
        return {"name": customer.name, "user_id": chat_id, "chat_id": chat_id}
    phone = f"+{FIRST_PHONE + position}"
    customer_services.update_customer(session, ctx, customer.id, {"phone": phone})
    return {"name": customer.name, "phone": phone}


def _inbound(
    source: Integration | Message,
    sender: dict[str, str],
    customer_id: uuid.UUID,
    text: str,
    sent: datetime,
) -> Message:
    """A received message on ``source``'s channel (an integration, or an earlier message),
    its sentiment scored as the webhook flow scores it."""
    is_message = isinstance(source, Message)
    message = Message(
        project_id=source.project_id,
        integration_id=source.integration_id if is_message else source.id,
        provider=source.provider,
        direction="inbound",
        status="received",
        content=text,
        sender=sender,
        recipient={},
        customer_id=customer_id,
        provider_message_id=f"demo-{uuid.uuid4().hex}",
        is_read=True,
        created_at=sent,
        sent_at=sent,
    )
    sentiment.score_message(message)
    return message


def _reply(question: Message, text: str, delay: timedelta, *, by_ai: bool) -> Message:
    sent = question.created_at + delay
    return Message(
        project_id=question.project_id,
        integration_id=question.integration_id,
        provider=question.provider,
        direction="outbound",
        status="read",
        content=text,
        sender={},
        recipient=question.sender,
        customer_id=question.customer_id,
        reply_to_id=question.id,
        provider_message_id=f"demo-{uuid.uuid4().hex}",
        ai_generated=by_ai,
        is_read=True,
        created_at=sent,
        sent_at=sent,
        delivered_at=sent + timedelta(seconds=3),
        read_at=sent + timedelta(minutes=5),
    )


def _escalation(after: Message, text: str, reason: str) -> Message:
    """A later, unread question from the same customer that the bot handed to a person."""
    sent = after.created_at + timedelta(hours=3)
    escalation = _inbound(after, after.sender, after.customer_id, text, sent)
    escalation.is_read, escalation.needs_human, escalation.flag_reason = False, True, reason
    return escalation
