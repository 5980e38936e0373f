import json

import pytest

from connectors.base import IGNORED, INBOUND_MESSAGE, MalformedWebhook, ProviderError
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


def test_verify_compares_the_secret_token_header():
    body = json.dumps(UPDATE).encode()
    assert connector().verify_webhook(
        {"X-Telegram-Bot-Api-Secret-Token": "hook-secret_1"}, body, {}
    )
    assert not connector().verify_webhook(
        {"X-Telegram-Bot-Api-Secret-Token": "hook-secret_2"}, body, {}
    )
    assert not connector().verify_webhook({}, body, {})


def test_message_updates_become_inbound_messages_keyed_by_update_id():
    delivery = connector().parse_webhook({}, json.dumps(UPDATE).encode())
    assert delivery.delivery_id == "10000"
    [event] = delivery.events
    assert event.kind == INBOUND_MESSAGE
    assert event.data["provider_message_id"] == "1111111:1365"
    assert event.data["sender"] == {"chat_id": "1111111", "name": "John Doe", "username": "jdoe"}
    assert event.data["content"] == "Where is my order?"


def test_other_update_kinds_and_non_text_messages_are_ignored():
    edited = {"update_id": 2, "edited_message": UPDATE["message"]}
    sticker = {"update_id": 3, "message": {**UPDATE["message"], "text": None, "sticker": {}}}
    for update in (edited, sticker):
        assert [
            e.kind for e in connector().parse_webhook({}, json.dumps(update).encode()).events
        ] == [IGNORED]


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
