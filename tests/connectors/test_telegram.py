import json

import pytest

from connectors.base import (
    IGNORED,
    INBOUND_MESSAGE,
    MESSAGE_EDITED,
    MalformedWebhook,
    ProviderError,
)
from connectors.telegram.connector import TelegramConnector
from tests.connectors.conftest import connector_settings
from tests.connectors.fakes import FakeTelegram

CONFIG = {"bot_token": "123456:ABC-test", "secret_token": "hook-secret_1"}


def connector(fake=None) -> TelegramConnector:
    settings = connector_settings(**({"NEBULO_TELEGRAM_BASE_URL": fake.url} if fake else {}))
    return TelegramConnector(CONFIG, settings)


UPDATE = {
    "update_id": 10000,
    "message": {
        "message_id": 1365,
        "date": 1736676000,
        "chat": {"id": 1111111, "type": "private", "first_name": "John"},
        "from": {
            "id": 1111111,
            "is_bot": False,
            "first_name": "John",
            "last_name": "Doe",
            "username": "jdoe",
        },
        "text": "Where is my order?",
    },
}


def parse(update: dict):
    return connector().parse_webhook({}, json.dumps(update).encode())


def test_verify_compares_the_secret_token_header():
    body = json.dumps(UPDATE).encode()
    assert connector().verify_webhook(
        {"X-Telegram-Bot-Api-Secret-Token": "hook-secret_1"}, body, {}
    )
    assert not connector().verify_webhook(
        {"X-Telegram-Bot-Api-Secret-Token": "hook-secret_2"}, body, {}
    )
    assert not connector().verify_webhook({}, body, {})


def test_message_updates_become_inbound_messages_keyed_by_their_bytes_not_update_id():
    delivery = connector().parse_webhook({}, json.dumps(UPDATE).encode())
    assert delivery.delivery_id.startswith("sha256:") and delivery.topic == "message"
    restarted = {**UPDATE, "message": {**UPDATE["message"], "message_id": 1366}}
    assert connector().parse_webhook({}, json.dumps(restarted).encode()).delivery_id != (
        delivery.delivery_id
    )
    [event] = delivery.events
    assert event.kind == INBOUND_MESSAGE
    assert event.data["provider_message_id"] == "1111111:1365"
    assert event.data["sender"] == {"chat_id": "1111111", "name": "John Doe", "username": "jdoe"}
    assert event.data["content"] == "Where is my order?" and event.data["message_type"] == "text"
    assert event.data["sent_at"] == "2025-01-12T10:00:00+00:00"


def test_an_edit_becomes_message_edited_with_its_edit_time():
    edited = {"update_id": 2, "edited_message": {**UPDATE["message"], "edit_date": 1736676060}}
    [event] = connector().parse_webhook({}, json.dumps(edited).encode()).events
    assert event.kind == MESSAGE_EDITED
    assert event.data["provider_message_id"] == "1111111:1365"
    assert event.data["edited_at"] == "2025-01-12T10:01:00+00:00"


def test_a_group_message_belongs_to_the_chat_and_is_written_by_its_sender():
    group = {
        **UPDATE["message"],
        "chat": {"id": -100123, "type": "supergroup", "title": "Regulars"},
    }
    [event] = parse({"update_id": 3, "message": group}).events
    assert event.data["conversation"] == {
        "id": "-100123",
        "title": "Regulars",
        "type": "supergroup",
    }
    assert event.data["sender"] == {"user_id": "1111111", "name": "John Doe", "username": "jdoe"}
    assert event.data["provider_message_id"] == "-100123:1365"


def test_photos_and_documents_keep_caption_and_file_id_and_stickers_their_type():
    photo = {
        **UPDATE["message"],
        "text": None,
        "caption": "Is this broken?",
        "photo": [
            {"file_id": "small", "file_unique_id": "a", "file_size": 10, "width": 9},
            {"file_id": "large", "file_unique_id": "b", "file_size": 900, "width": 90},
        ],
    }
    [event] = parse({"update_id": 4, "message": photo}).events
    assert event.data["message_type"] == "image" and event.data["content"] == "Is this broken?"
    assert event.data["media"]["id"] == "large" and event.data["media"]["file_size"] == 900
    sticker = {**UPDATE["message"], "text": None, "sticker": {"file_id": "st1", "emoji": "x"}}
    [event] = parse({"update_id": 5, "message": sticker}).events
    assert event.data["message_type"] == "sticker" and event.data["media"]["id"] == "st1"
    poll = {**UPDATE["message"], "text": None, "poll": {"id": "1"}}
    [event] = parse({"update_id": 6, "message": poll}).events
    assert event.data["message_type"] == "unsupported"
    assert event.data["details"]["provider_type"] == "poll"


VOICE = {"file_id": "v1", "mime_type": "audio/ogg", "file_size": 4000, "duration": 3}
ANIMATION = {"file_id": "gif1", "file_name": "cat.mp4", "mime_type": "video/mp4"}


@pytest.mark.parametrize(
    ("attachment", "expected"),
    [
        (
            {"voice": VOICE},
            {
                "message_type": "audio",
                "content": "",
                "media": {
                    "id": "v1",
                    "mime_type": "audio/ogg",
                    "file_name": None,
                    "file_size": 4000,
                },
            },
        ),
        (
            {"audio": {"file_id": "a1", "file_name": "song.mp3"}, "caption": "our jingle"},
            {"message_type": "audio", "content": "our jingle"},
        ),
        (
            {"video": {"file_id": "vid1", "mime_type": "video/mp4"}, "caption": "unboxing"},
            {"message_type": "video", "content": "unboxing"},
        ),
        (
            # An animation also carries its file as a document: it stays a video.
            {"animation": ANIMATION, "document": ANIMATION},
            {
                "message_type": "video",
                "media": {
                    "id": "gif1",
                    "mime_type": "video/mp4",
                    "file_name": "cat.mp4",
                    "file_size": None,
                },
            },
        ),
        (
            {"location": {"latitude": 41.39, "longitude": 2.17}},
            {
                "message_type": "location",
                "content": "",
                "details": {"latitude": 41.39, "longitude": 2.17},
                "media": None,
            },
        ),
        (
            {"contact": {"phone_number": "+34600000000", "first_name": "Ana", "last_name": "Lima"}},
            {"message_type": "contacts", "content": "Ana Lima"},
        ),
        (
            {"photo": [], "caption": "no sizes"},
            {"message_type": "unsupported", "content": "no sizes", "media": None},
        ),
    ],
)
def test_every_attachment_keeps_its_type_caption_and_file(attachment, expected):
    message = {**UPDATE["message"], "text": None, **attachment}
    [event] = parse({"update_id": 8, "message": message}).events
    assert event.kind == INBOUND_MESSAGE
    assert {key: event.data.get(key) for key in expected} == expected


def test_callback_and_inline_queries_are_ignored_with_a_reason():
    for kind in ("callback_query", "inline_query"):
        update = {"update_id": 7, kind: {"id": "1", "from": {"id": 1}}}
        delivery = connector().parse_webhook({}, json.dumps(update).encode())
        [event] = delivery.events
        assert event.kind == IGNORED and kind.replace("_", " ") in event.data["reason"]
        assert delivery.topic == kind


def test_media_is_fetched_through_get_file(fake_telegram: FakeTelegram):
    fetched = connector(fake_telegram).fetch_media({"id": "AgADBQADIagx"})
    assert fetched.content == FakeTelegram.FILE_BYTES and fetched.mime_type == "image/jpeg"
    get_file, download = fake_telegram.requests
    assert get_file.path == "/bot123456:ABC-test/getFile"
    assert get_file.query == {"file_id": "AgADBQADIagx"}
    assert download.path == "/file/bot123456:ABC-test/photos/file_1.jpg"
    with pytest.raises(ProviderError) as raised:
        connector(fake_telegram).fetch_media({"id": "../../etc"})
    assert raised.value.code == "NO_MEDIA"


@pytest.mark.parametrize(
    "body", [b"nope", b"{}", b'{"update_id": "1"}', b'{"update_id": 1, "message": {"text": "x"}}']
)
def test_malformed_updates_raise(body):
    with pytest.raises(MalformedWebhook):
        connector().parse_webhook({}, body)


def test_send_message_calls_send_message_with_the_chat_id(fake_telegram: FakeTelegram):
    sent = connector(fake_telegram).send_message({"chat_id": "1111111"}, "It ships today.")
    assert sent.provider_message_id == "1111111:100"
    [request] = fake_telegram.requests
    assert request.path == "/bot123456:ABC-test/sendMessage"
    assert request.body == {"chat_id": "1111111", "text": "It ships today."}


def test_too_many_requests_carries_retry_after(fake_telegram: FakeTelegram):
    fake_telegram.script(
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )
    with pytest.raises(ProviderError) as raised:
        connector(fake_telegram).send_message({"chat_id": "1"}, "hi")
    assert raised.value.retryable and raised.value.retry_after == 7.0
    assert raised.value.code == "telegram#429"


def test_permanent_errors_are_not_retryable_and_never_show_the_token(fake_telegram: FakeTelegram):
    fake_telegram.script(
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    with pytest.raises(ProviderError) as raised:
        connector(fake_telegram).send_message({"chat_id": "1"}, "hi")
    assert not raised.value.retryable and "blocked" in raised.value.message
    gone = TelegramConnector(
        CONFIG, connector_settings(NEBULO_TELEGRAM_BASE_URL="http://127.0.0.1:9")
    )
    with pytest.raises(ProviderError) as raised:
        gone.send_message({"chat_id": "1"}, "hi")
    assert "ABC-test" not in str(raised.value)
    assert connector(fake_telegram).health() == {"ok": True, "detail": "bot @fake_bot"}


def _press(message: dict | None, data: str | None = "nebulo:handoff") -> bytes:
    pressed = {"id": "77", "from": {"id": 5, "first_name": "Eve"}, "chat_instance": "1"}
    if message is not None:
        pressed["message"] = message
    if data is not None:
        pressed["data"] = data
    return json.dumps({"update_id": 3, "callback_query": pressed}).encode()


def test_a_button_press_is_the_customers_button_reply_in_the_buttons_chat():
    keyboard = [[{"text": "Talk to a person", "callback_data": "nebulo:handoff"}]]
    group = {"id": -100200, "type": "supergroup", "title": "Shop fans"}
    message = {"message_id": 9, "date": 1736676000, "chat": group}
    delivery = connector().parse_webhook(
        {}, _press({**message, "reply_markup": {"inline_keyboard": keyboard}})
    )
    [event] = delivery.events
    assert event.kind == INBOUND_MESSAGE and delivery.topic == "callback_query"
    assert event.data["message_type"] == "button_reply"
    assert event.data["reply_option"] == {"id": "nebulo:handoff", "title": "Talk to a person"}
    assert event.data["conversation"]["id"] == "-100200" and event.data["sender"]["user_id"] == "5"
    assert event.data["in_reply_to"] == "-100200:9"
    # Without the message that carried the button (an inline message) or without data:
    # nothing to store, recorded with the reason.
    for body in (_press(None), _press(message, data=None)):
        [ignored] = connector().parse_webhook({}, body).events
        assert ignored.kind == IGNORED and "callback query" in ignored.data["reason"]


def test_set_webhook_sends_the_secret_token_and_a_refusal_hides_the_bot_token():
    with FakeTelegram() as fake:
        telegram = connector(fake)
        telegram.set_webhook("https://ops.example.com/api/v1/webhooks/telegram/1")
        assert fake.requests[-1].body["secret_token"] == CONFIG["secret_token"]
        assert telegram.webhook_info()["url"].endswith("/webhooks/telegram/1")
        with pytest.raises(ProviderError) as refused:
            telegram.set_webhook("http://plain.example/hook")
        assert "HTTPS URL must be provided" in str(refused.value)
        assert CONFIG["bot_token"] not in str(refused.value)
