"""Bot controls per integration: validated settings, handoff by keyword or Telegram button
(the bot then stays silent until handed back or closed), business hours with an
out-of-hours reply, and no free-text answer outside WhatsApp's 24-hour window."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from plugins.messages.bot_settings import DAYS, HANDOFF_BUTTON_DATA, in_business_hours
from tests.plugins.messages.conftest import telegram_headers, telegram_update

ALL_DAY = [{"day": day, "start": "00:00", "end": "24:00"} for day in DAYS]


def never_now() -> list[dict]:
    """One minute, three days from now: whatever the clock says, it is out of hours."""
    day = DAYS[(datetime.now(UTC).weekday() + 3) % 7]
    return [{"day": day, "start": "09:00", "end": "09:01"}]


def patch(shop, integration, status=200, **body):
    response = shop.client.patch(
        f"/api/v1/integrations/{shop.pid}/{integration['id']}", json=body, headers=shop.owner
    )
    assert response.status_code == status, response.get_json()
    return response.get_json()


def write(shop, telegram, update_id, text):
    body = telegram_update(update_id, text, message_id=update_id)
    assert shop.post_webhook(telegram, body, telegram_headers()).status_code == 200
    shop.settle()


def sent_texts(fakes):
    return [r.body["text"] for r in fakes["telegram"].requests if r.path.endswith("/sendMessage")]


def conversations(shop, **filters):
    return shop.get(f"messages/{shop.pid}/conversations", **filters)


def test_bot_settings_are_validated_and_shown_with_defaults(shop):
    telegram = shop.connect("telegram", auto_reply=True)
    assert telegram["bot"]["handoff_enabled"] is True and telegram["bot"]["business_hours"] == []
    overlapping = [
        {"day": "mon", "start": "09:00", "end": "13:00"},
        {"day": "mon", "start": "12:30", "end": "18:00"},
    ]
    refused = patch(shop, telegram, 422, bot={"business_hours": overlapping})
    assert "overlap on mon" in json.dumps(refused["errors"])
    backwards = [{"day": "tue", "start": "18:00", "end": "09:00"}]
    assert "later than the start" in json.dumps(
        patch(shop, telegram, 422, bot={"business_hours": backwards})["errors"]
    )
    for bad in (
        {"business_hours": [{"day": "someday", "start": "09:00", "end": "10:00"}]},
        {"business_hours": [{"day": "mon", "start": "9am", "end": "10:00"}]},
        {"bot_hours": "sometimes"},
        {"handoff_keywords": ["x"]},
        {"unknown": True},
    ):
        patch(shop, telegram, 422, bot=bad)
    refused_at_connect = shop.connect("telegram", bot={"business_hours": overlapping}, status=422)
    assert refused_at_connect["code"] == "VALIDATION_ERROR"
    hours = [
        {"day": "mon", "start": "09:00", "end": "13:00"},
        {"day": "mon", "start": "13:00", "end": "18:00"},
    ]
    changed = patch(shop, telegram, bot={"business_hours": hours, "out_of_hours_reply": "Closed"})
    assert changed["bot"]["business_hours"] == hours
    kept = patch(shop, telegram, bot={"handoff_button": True})
    assert kept["bot"]["out_of_hours_reply"] == "Closed" and kept["bot"]["handoff_button"] is True
    spec = shop.client.get("/openapi.json").get_json()["components"]["schemas"]
    assert "business_hours" in spec["BotSettings"]["properties"]


def test_business_hours_are_read_in_the_project_time_zone():
    settings = {"business_hours": [{"day": "mon", "start": "09:00", "end": "17:00"}]}
    monday_8_utc = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    assert not in_business_hours(settings, "UTC", monday_8_utc)
    assert in_business_hours(settings, "Europe/Berlin", monday_8_utc)  # 09:00 in Berlin
    assert not in_business_hours(
        settings, "Europe/Berlin", monday_8_utc + timedelta(hours=8)
    )  # 17:00
    assert in_business_hours({"business_hours": []}, "UTC", monday_8_utc)


def test_a_customer_asking_for_a_person_is_handed_off_and_the_bot_stays_silent(shop, fakes):
    telegram = shop.connect("telegram", auto_reply=True)
    write(shop, telegram, 1, "Where is my order?")
    assert len(sent_texts(fakes)) == 1
    write(shop, telegram, 2, "I want to talk to a HUMAN please")
    assert sent_texts(fakes)[-1] == "A colleague will answer you here as soon as possible."
    [waiting] = conversations(shop, status="waiting_human")
    assert waiting["handoff_reason"] == "asked_for_human" and waiting["handoff_count"] == 1
    write(shop, telegram, 3, "Hello? Where is my order?")
    assert len(sent_texts(fakes)) == 2  # silent while a person has it
    queue = shop.get(f"messages/{shop.pid}/inbox", waiting_for_human="true")
    assert {m["content"] for m in queue if m["direction"] == "inbound"} == {
        "Where is my order?",
        "I want to talk to a HUMAN please",
        "Hello? Where is my order?",
    }
    path = f"/api/v1/messages/{shop.pid}/conversations/{waiting['id']}"
    back = shop.client.post(path + "/hand-back", headers=shop.owner)
    assert back.status_code == 200 and back.get_json()["status"] == "open"
    assert shop.client.post(path + "/hand-back", headers=shop.owner).status_code == 409
    write(shop, telegram, 4, "Where is my order now?")
    assert len(sent_texts(fakes)) == 3
    closed = shop.client.post(path + "/close", headers=shop.owner)
    assert closed.status_code == 200 and closed.get_json()["closed_at"]
    assert shop.client.post(path + "/close", headers=shop.owner).status_code == 409
    write(shop, telegram, 5, "One more question")
    [newest] = conversations(shop, status="open")
    assert newest["id"] != waiting["id"] and newest["reopened_from_id"] == waiting["id"]


def test_an_operator_takes_over_a_conversation(shop, fakes):
    telegram = shop.connect("telegram", auto_reply=True)
    write(shop, telegram, 1, "Where is my order?")
    [conversation] = conversations(shop)
    path = f"/api/v1/messages/{shop.pid}/conversations/{conversation['id']}/take-over"
    taken = shop.client.post(path, headers=shop.owner).get_json()
    assert taken["status"] == "waiting_human" and taken["handoff_reason"] == "operator"
    write(shop, telegram, 2, "Where is my order?")
    assert len(sent_texts(fakes)) == 1
    missing = f"/api/v1/messages/{shop.pid}/conversations/{shop.pid}/close"
    assert shop.client.post(missing, headers=shop.owner).status_code == 404


def test_with_handoff_off_keywords_are_answered_by_the_bot(shop, fakes):
    telegram = shop.connect("telegram", auto_reply=True, bot={"handoff_enabled": False})
    write(shop, telegram, 1, "human")
    [conversation] = conversations(shop)
    assert conversation["status"] == "open" and conversation["bot_replies"] == 1
    assert sent_texts(fakes) and "colleague" not in sent_texts(fakes)[0]


def test_the_telegram_button_hands_off_through_a_callback_query(shop, fakes):
    telegram = shop.connect("telegram", auto_reply=True, bot={"handoff_button": True})
    write(shop, telegram, 1, "Where is my order?")
    [reply] = [r for r in fakes["telegram"].requests if r.path.endswith("/sendMessage")]
    keyboard = reply.body["reply_markup"]["inline_keyboard"]
    assert keyboard == [[{"text": "Talk to a person", "callback_data": HANDOFF_BUTTON_DATA}]]
    pressed = {
        "update_id": 99,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": {"id": 777, "is_bot": False, "first_name": "Ana"},
            "chat_instance": "-1",
            "data": HANDOFF_BUTTON_DATA,
            "message": {
                "message_id": 100,
                "date": 1736676000,
                "chat": {"id": 777, "type": "private"},
                "text": "Your order...",
                "reply_markup": {"inline_keyboard": keyboard},
            },
        },
    }
    body = json.dumps(pressed).encode()
    assert shop.post_webhook(telegram, body, telegram_headers()).get_json()["status"] == "accepted"
    shop.settle()
    [conversation] = conversations(shop)
    assert conversation["status"] == "waiting_human"
    assert conversation["handoff_reason"] == "asked_for_human"
    [press] = shop.get(f"messages/{shop.pid}/inbox", direction="inbound", waiting_for_human="true")[
        :1
    ]
    assert press["content_type"] == "button_reply" and press["content"] == "Talk to a person"
    acknowledged = [r for r in fakes["telegram"].requests if r.path.endswith("answerCallbackQuery")]
    assert acknowledged[0].body == {"callback_query_id": "4382bfdwdsb323b2d9"}


def test_out_of_hours_the_reply_goes_once_and_the_bot_can_keep_to_those_hours(shop, fakes):
    telegram = shop.connect(
        "telegram",
        auto_reply=False,
        bot={"business_hours": never_now(), "out_of_hours_reply": "We are closed, back soon."},
    )
    write(shop, telegram, 1, "Hello")
    write(shop, telegram, 2, "Anyone?")
    assert sent_texts(fakes) == ["We are closed, back soon."]
    patch(
        shop,
        telegram,
        auto_reply=True,
        bot={"business_hours": ALL_DAY, "bot_hours": "out_of_hours"},
    )
    write(shop, telegram, 3, "Where is my order?")
    assert sent_texts(fakes) == ["We are closed, back soon."]  # in hours: people answer


def test_the_bot_never_answers_whatsapp_outside_the_window(shop, fakes):
    whatsapp = shop.connect("whatsapp", auto_reply=True)
    shop.customer_writes(whatsapp, "Where is my order?", timestamp=int(time.time()) - 30 * 3600)
    assert fakes["whatsapp"].requests == []
    [conversation] = conversations(shop, handoff_reason="out_of_window")
    assert conversation["status"] == "waiting_human" and conversation["window_open"] is False
    [message] = shop.get(f"messages/{shop.pid}/inbox")
    assert message["needs_human"] is True and "24-hour window" in message["flag_reason"]
