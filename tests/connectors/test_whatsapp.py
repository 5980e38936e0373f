import hashlib
import hmac
import json

import pytest

from connectors.base import (
    DELIVERY_STATUS,
    IGNORED,
    INBOUND_MESSAGE,
    MalformedWebhook,
    ProviderError,
)
from connectors.whatsapp.connector import WhatsAppConnector
from tests.connectors.conftest import connector_settings
from tests.connectors.fakes import FakeWhatsApp

APP_SECRET = "meta-app-secret"
CONFIG = {
    "phone_number_id": "106540352242922",
    "access_token": "EAAG-test",
    "app_secret": APP_SECRET,
    "verify_token": "my-verify-token",
}


def connector(fake=None) -> WhatsAppConnector:
    settings = connector_settings(**({"NEBULO_WHATSAPP_BASE_URL": fake.url} if fake else {}))
    return WhatsAppConnector(CONFIG, settings)


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook(value: dict) -> bytes:
    change = {"field": "messages", "value": {"messaging_product": "whatsapp", **value}}
    return json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [change]}]}
    ).encode()


INBOUND = webhook(
    {
        "contacts": [{"profile": {"name": "John Doe"}, "wa_id": "1234567890"}],
        "messages": [
            {
                "from": "1234567890",
                "id": "wamid.IN1",
                "timestamp": "1736676000",
                "type": "text",
                "text": {"body": "Where is my order?"},
            },
            {
                "from": "1234567890",
                "id": "wamid.IN2",
                "timestamp": "1736676001",
                "type": "image",
                "image": {},
            },
        ],
    }
)


def test_verify_checks_the_sha256_hex_signature():
    assert connector().verify_webhook({"X-Hub-Signature-256": sign(INBOUND)}, INBOUND, {})
    assert not connector().verify_webhook(
        {"X-Hub-Signature-256": sign(INBOUND, "other")}, INBOUND, {}
    )
    assert not connector().verify_webhook({"X-Hub-Signature-256": sign(INBOUND)[7:]}, INBOUND, {})
    assert not connector().verify_webhook({}, INBOUND, {})


def test_handshake_echoes_the_challenge_only_for_the_right_token():
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": "my-verify-token",
        "hub.challenge": "1158201444",
    }
    assert connector().handshake(query) == "1158201444"
    assert connector().handshake({**query, "hub.verify_token": "wrong"}) is None
    assert connector().handshake({**query, "hub.mode": "unsubscribe"}) is None
    assert connector().handshake({}) is None


def test_text_messages_become_inbound_messages_and_others_are_ignored():
    delivery = connector().parse_webhook({}, INBOUND)
    assert [e.kind for e in delivery.events] == [INBOUND_MESSAGE, IGNORED]
    message = delivery.events[0].data
    assert message["provider_message_id"] == "wamid.IN1"
    assert message["content"] == "Where is my order?"
    assert message["sender"] == {"phone": "+1234567890", "name": "John Doe"}
    assert message["sent_at"].startswith("2025-01-12T")
    assert connector().parse_webhook({}, INBOUND).delivery_id == delivery.delivery_id


def test_status_callbacks_become_delivery_statuses_with_the_error():
    body = webhook(
        {
            "statuses": [
                {"id": "wamid.OUT1", "status": "delivered", "timestamp": "1", "recipient_id": "1"},
                {
                    "id": "wamid.OUT2",
                    "status": "failed",
                    "timestamp": "1",
                    "recipient_id": "1",
                    "errors": [{"code": 131026, "title": "Message undeliverable"}],
                },
            ]
        }
    )
    events = connector().parse_webhook({}, body).events
    assert [e.kind for e in events] == [DELIVERY_STATUS, DELIVERY_STATUS]
    assert events[0].data == {
        "provider_message_id": "wamid.OUT1",
        "status": "delivered",
        "error": None,
        "reference": None,
    }
    assert events[1].data["error"] == "131026: Message undeliverable"


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"entry": 3}',
        b'{"entry": [{"changes": [{"field": "messages", '
        b'"value": {"messages": [{"type": "text"}]}}]}]}',
    ],
)
def test_malformed_bodies_raise(body):
    with pytest.raises(MalformedWebhook):
        connector().parse_webhook({}, body)


def test_send_posts_a_text_message_to_the_graph_api(fake_whatsapp: FakeWhatsApp):
    sent = connector(fake_whatsapp).send_message(
        {"phone": "+1 234567890"}, "Your order has shipped!"
    )
    assert sent.provider_message_id.startswith("wamid.")
    [request] = fake_whatsapp.requests
    assert request.path == "/106540352242922/messages"
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "1234567890",
        "type": "text",
        "text": {"preview_url": False, "body": "Your order has shipped!"},
    }


def test_a_reference_travels_as_opaque_callback_data_and_returns_in_statuses(
    fake_whatsapp: FakeWhatsApp,
):
    connector(fake_whatsapp).send_message({"phone": "+1234567890"}, "hi", reference="msg-1")
    assert fake_whatsapp.requests[0].body["biz_opaque_callback_data"] == "msg-1"
    status = {"id": "wamid.X", "status": "delivered", "biz_opaque_callback_data": "msg-1"}
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": "1", "changes": [{"field": "messages", "value": {"statuses": [status]}}]}
            ],
        }
    ).encode()
    [event] = connector().parse_webhook({}, body).events
    assert event.data["reference"] == "msg-1" and event.data["provider_message_id"] == "wamid.X"


def test_a_lost_answer_leaves_the_outcome_unknown(fake_whatsapp: FakeWhatsApp):
    fake_whatsapp.drop_next_answer()
    with pytest.raises(ProviderError) as raised:
        connector(fake_whatsapp).send_message({"phone": "+1234567890"}, "hi")
    assert raised.value.outcome_unknown and len(fake_whatsapp.requests) == 1


def test_graph_api_errors_keep_the_provider_message(fake_whatsapp: FakeWhatsApp):
    fake_whatsapp.script(
        400, FakeWhatsApp.error("(#131030) Recipient phone number not in allowed list", 131030)
    )
    with pytest.raises(ProviderError) as raised:
        connector(fake_whatsapp).send_message({"phone": "+1234567890"}, "hi")
    error = raised.value
    assert error.status == 400 and not error.retryable
    assert "not in allowed list" in error.message and error.code == "OAuthException#131030"


def test_rate_limit_errors_are_retryable(fake_whatsapp: FakeWhatsApp):
    fake_whatsapp.script(400, FakeWhatsApp.error("(#130429) Rate limit hit", 130429))
    with pytest.raises(ProviderError) as raised:
        connector(fake_whatsapp).send_message({"phone": "+1234567890"}, "hi")
    assert raised.value.retryable


def test_send_without_a_phone_is_refused_before_any_call(fake_whatsapp: FakeWhatsApp):
    with pytest.raises(ProviderError, match="phone"):
        connector(fake_whatsapp).send_message({"chat_id": "1"}, "hi")
    assert fake_whatsapp.requests == []


def test_health_and_unreachable_provider(fake_whatsapp: FakeWhatsApp):
    assert connector(fake_whatsapp).health()["ok"] is True
    gone = WhatsAppConnector(
        CONFIG, connector_settings(NEBULO_WHATSAPP_BASE_URL="http://127.0.0.1:9")
    )
    with pytest.raises(ProviderError) as raised:
        gone.send_message({"phone": "+1234567890"}, "hi")
    assert raised.value.retryable and not raised.value.outcome_unknown
