"""The customer bot's controls per integration: when it answers, what it says out of hours
and how a customer reaches a person.

Stored validated on ``Integration.bot_settings``; :func:`effective` fills the defaults, so
an integration connected before these settings existed behaves as it always did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import ValidationError, fields, validate, validates_schema

from core.schemas import StrictSchema

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BOT_HOURS = ("always", "out_of_hours")
HANDOFF_BUTTON_DATA = "nebulo:handoff"
"""The callback data of the Telegram "talk to a person" button."""
WORD = re.compile(r"\w+")
HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")
DEFAULTS: dict[str, Any] = {
    "handoff_enabled": True,
    "handoff_keywords": ["human", "operator", "talk to a person"],
    "handoff_button": False,
    "handoff_button_text": "Talk to a person",
    "handoff_reply": "A colleague will answer you here as soon as possible.",
    "bot_hours": "always",
    "business_hours": [],
    "out_of_hours_reply": None,
}


class BusinessHoursSchema(StrictSchema):
    day = fields.String(required=True, validate=validate.OneOf(DAYS))
    start = fields.String(
        required=True,
        validate=validate.Regexp(HHMM, error="Use HH:MM (00:00-23:59)."),
        metadata={"example": "09:00"},
    )
    end = fields.String(
        required=True,
        validate=validate.Regexp(HHMM, error="Use HH:MM (00:01-24:00)."),
        metadata={"example": "17:30"},
    )

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if minutes(data["start"]) >= minutes(data["end"]):
            raise ValidationError("The end must be later than the start on the same day.", "end")


class BotSettingsSchema(StrictSchema):
    """Every field optional on update: only those given change."""

    handoff_enabled = fields.Boolean(
        metadata={"description": "Whether a conversation can be handed to a person at all"}
    )
    handoff_keywords = fields.List(
        fields.String(validate=validate.Length(min=2, max=60)),
        validate=validate.Length(max=20),
        metadata={
            "description": "Words or phrases (any case) with which a customer asks for "
            "a person; the bot then hands off and stays silent"
        },
    )
    handoff_button = fields.Boolean(
        metadata={
            "description": "Telegram: add a 'talk to a person' inline button to the bot's replies"
        }
    )
    handoff_button_text = fields.String(validate=validate.Length(min=1, max=64))
    handoff_reply = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "Sent when a conversation is handed off (null: nothing)"},
    )
    bot_hours = fields.String(
        validate=validate.OneOf(BOT_HOURS),
        metadata={
            "description": "always, or out_of_hours: the bot answers only outside the "
            "business hours (people answer within them)"
        },
    )
    business_hours = fields.List(
        fields.Nested(BusinessHoursSchema),
        validate=validate.Length(max=70),
        metadata={
            "description": "Opening intervals in the project's time zone, e.g. "
            "[{day: mon, start: '09:00', end: '17:30'}]; intervals of one day must not "
            "overlap"
        },
    )
    out_of_hours_reply = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=1000),
        metadata={
            "description": "Sent once per conversation (at most every 12 hours) to a "
            "customer who writes outside the business hours"
        },
    )

    @validates_schema
    def _no_overlaps(self, data: dict[str, Any], **_: Any) -> None:
        hours = data.get("business_hours") or []
        by_day: dict[str, list[tuple[int, int]]] = {}
        for interval in hours:
            by_day.setdefault(interval["day"], []).append(
                (minutes(interval["start"]), minutes(interval["end"]))
            )
        for day, spans in by_day.items():
            spans.sort()
            for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
                if start < end:
                    raise ValidationError(f"Two intervals overlap on {day}.", "business_hours")


def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


def effective(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The integration's settings with the defaults for what was never set."""
    return {**DEFAULTS, **(stored or {})}


def merged(stored: Mapping[str, Any] | None, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Stored settings with ``changes`` applied, checked again as a whole."""
    combined = {**(stored or {}), **changes}
    return BotSettingsSchema().load(combined)


def in_business_hours(settings: Mapping[str, Any], timezone: str, at: datetime) -> bool:
    """True when ``at`` falls in an interval; with no hours set, it is always business time."""
    hours = settings.get("business_hours") or []
    if not hours:
        return True
    try:
        local = at.astimezone(ZoneInfo(timezone))
    except ZoneInfoNotFoundError:
        local = at
    day, now = DAYS[local.weekday()], local.hour * 60 + local.minute
    return any(
        interval["day"] == day and minutes(interval["start"]) <= now < minutes(interval["end"])
        for interval in hours
    )


def asks_for_a_person(settings: Mapping[str, Any], text: str, option_id: str | None) -> bool:
    """The customer pressed the handoff button or wrote one of the handoff keywords."""
    if not settings["handoff_enabled"]:
        return False
    if option_id == HANDOFF_BUTTON_DATA:
        return True
    said = f" {_words(text)} "
    return any(f" {_words(k)} " in said for k in settings["handoff_keywords"] if _words(k))


def _words(text: str) -> str:
    """Lower-case words separated by single spaces: keywords match whole words, any case."""
    return " ".join(WORD.findall(text.lower()))


def bot_listens(auto_reply: bool, stored: Mapping[str, Any] | None) -> bool:
    """Whether a customer's message goes to the bot job: it answers, or at least sends the
    out-of-hours reply."""
    return auto_reply or bool(effective(stored)["out_of_hours_reply"])
