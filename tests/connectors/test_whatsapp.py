import hashlib
import hmac
import json

import pytest

from connectors.base import (
    DELIVERY_STATUS,
    IGNORED,
    INBOUND_MESSAGE,
    SENDER_CHANGED,
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


def test_every_message_type_becomes_an_inbound_message_with_its_type():
    delivery = connector().parse_webhook({}, INBOUND)
    assert [e.kind for e in delivery.events] == [INBOUND_MESSAGE, INBOUND_MESSAGE]
    message = delivery.events[0].data
    assert message["provider_message_id"] == "wamid.IN1"
    assert message["content"] == "Where is my order?" and message["message_type"] == "text"
    assert message["sender"] == {"phone": "+1234567890", "name": "John Doe"}
    assert message["sent_at"].startswith("2025-01-12T")
    image = delivery.events[1].data
    assert image["message_type"] == "image" and image["media"] is None
    assert connector().parse_webhook({}, INBOUND).delivery_id == delivery.delivery_id


CONTACTS = [
    {
        "name": {"formatted_name": "Ana Lima", "first_name": "Ana", "last_name": "Lima"},
        "phones": [{"phone": "+55 11 99999-0000", "type": "CELL", "wa_id": "5511999990000"}],
    },
    {"name": {"formatted_name": "Bo"}},
]


def one_message(message: dict) -> dict:
    body = webhook({"messages": [{"from": "1234567890", "id": "wamid.X", **message}]})
    [event] = connector().parse_webhook({}, body).events
    return event


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            {
                "type": "document",
                "document": {
                    "id": "77",
                    "mime_type": "application/pdf",
                    "sha256": "abc",
                    "filename": "invoice.pdf",
                    "caption": "my invoice",
                },
            },
            {
                "message_type": "document",
                "content": "my invoice",
                "media": {
                    "id": "77",
                    "mime_type": "application/pdf",
                    "sha256": "abc",
                    "file_name": "invoice.pdf",
                },
            },
        ),
        (
            {
                "type": "audio",
                "audio": {
                    "id": "78",
                    "mime_type": "audio/ogg; codecs=opus",
                    "sha256": "def",
                    "voice": True,
                },
            },
            {
                "message_type": "audio",
                "content": "",
                "media": {
                    "id": "78",
                    "mime_type": "audio/ogg; codecs=opus",
                    "sha256": "def",
                    "file_name": None,
                },
            },
        ),
        (
            {
                "type": "video",
                "video": {"id": "79", "mime_type": "video/mp4", "caption": "it came broken"},
            },
            {
                "message_type": "video",
                "content": "it came broken",
                "media": {"id": "79", "mime_type": "video/mp4", "sha256": None, "file_name": None},
            },
        ),
        (
            {"type": "sticker", "sticker": {"id": "80", "mime_type": "image/webp"}},
            {
                "message_type": "sticker",
                "content": "",
                "media": {"id": "80", "mime_type": "image/webp", "sha256": None, "file_name": None},
            },
        ),
        (
            {"type": "image", "image": {"mime_type": "image/jpeg"}},
            {"message_type": "image", "media": None},
        ),
        (
            {
                "type": "location",
                "location": {
                    "latitude": 1.5,
                    "longitude": 2.5,
                    "name": "Shop",
                    "address": "1 Main St",
                },
            },
            {
                "message_type": "location",
                "content": "Shop",
                "details": {
                    "latitude": 1.5,
                    "longitude": 2.5,
                    "name": "Shop",
                    "address": "1 Main St",
                    "url": None,
                },
            },
        ),
        (
            {"type": "location", "location": {"latitude": 1.5, "longitude": 2.5}},
            {"message_type": "location", "content": ""},
        ),
        (
            {"type": "contacts", "contacts": CONTACTS},
            {
                "message_type": "contacts",
                "content": "Ana Lima, Bo",
                "details": {"contacts": CONTACTS},
            },
        ),
        (
            {"type": "button", "button": {"payload": "YES", "text": "Yes please"}},
            {"message_type": "button", "reply_option": {"id": "YES", "title": "Yes please"}},
        ),
        (
            {
                "type": "interactive",
                "interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Red"}},
            },
            {"message_type": "list_reply", "content": "Red"},
        ),
        (
            {"type": "reaction", "reaction": {"message_id": "wamid.OUT1", "emoji": "👍"}},
            {"message_type": "reaction", "content": "👍", "in_reply_to": "wamid.OUT1"},
        ),
        (
            {"type": "order", "order": {}},
            {"message_type": "unsupported", "details": {"provider_type": "order", "errors": []}},
        ),
    ],
)
def test_message_types_keep_their_caption_media_option_and_target(message, expected):
    event = one_message({"timestamp": "1736676000", **message})
    assert event.kind == INBOUND_MESSAGE
    assert {key: event.data.get(key) for key in expected} == expected


def test_a_number_change_is_a_sender_change_and_other_system_messages_are_ignored():
    change = one_message(
        {
            "type": "system",
            "system": {
                "body": "John changed from 1234567890 to 1987654321",
                "new_wa_id": "1987654321",
                "type": "user_changed_number",
            },
        }
    )
    assert change.kind == SENDER_CHANGED
    assert change.data["old"] == {"phone": "+1234567890"}
    assert change.data["new"] == {"phone": "+1987654321"}
    other = one_message({"type": "system", "system": {"type": "customer_identity_changed"}})
    assert other.kind == IGNORED and "customer_identity_changed" in other.data["reason"]


def test_media_is_fetched_through_the_media_endpoint_with_the_token(fake_whatsapp: FakeWhatsApp):
    fetched = connector(fake_whatsapp).fetch_media({"id": "65463453"})
    assert fetched.content == FakeWhatsApp.MEDIA_BYTES and fetched.mime_type == "image/jpeg"
    lookup, download = fake_whatsapp.requests
    assert lookup.path == "/65463453" and download.path == "/media-files/65463453"
    assert download.headers["Authorization"] == "Bearer EAAG-test"
    with pytest.raises(ProviderError) as raised:
        connector(fake_whatsapp).fetch_media({"id": "../messages"})
    assert raised.value.code == "NO_MEDIA"
    fake_whatsapp.script(
        404, FakeWhatsApp.error("Unsupported get request.", 100, "GraphMethodException")
    )
    with pytest.raises(ProviderError) as raised:
        connector(fake_whatsapp).fetch_media({"id": "1"})
    assert raised.value.status == 404 and not raised.value.retryable


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
        "at": "1970-01-01T00:00:01+00:00",
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


def test_template_variables_and_their_checks_follow_the_components():
    from connectors.whatsapp import templates

    components = [
        {"type": "HEADER", "format": "DOCUMENT"},
        {"type": "BODY", "text": "Hi {{name}}, {{name}}: order {{order}}"},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "url": "https://x.example/{{1}}"}]},
    ]
    variables = templates.template_variables(components)
    assert [(v["component"], v["name"], v["type"]) for v in variables] == [
        ("header", "link", "document"),
        ("body", "name", "text"),
        ("body", "order", "text"),
        ("button", "1", "text"),
    ]
    assert templates.is_named(variables)
    good = ["https://x.example/invoice.pdf", "Ana", "#7", "abc"]
    assert templates.check_values(variables, good) == {}
    assert "variables" in templates.check_values(variables, good[:3])
    assert set(templates.check_values(variables, ["x", "a" * 1025, "", "abc"])) == {
        "variables.0",
        "variables.1",
        "variables.2",
    }
    assert templates.render(components, variables, good) == "Hi Ana, Ana: order #7"
