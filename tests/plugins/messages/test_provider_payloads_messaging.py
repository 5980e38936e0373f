"""The WhatsApp and Telegram webhook bodies of ``../shared/data/provider-payloads.json`` (real
bodies from the providers' documentation and libraries' fixtures), signed and sent through
the webhook endpoints: what each one stores, or why it is skipped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.testing import ApiClient
from tests.connectors.fakes import FakeTelegram, FakeWhatsApp
from tests.plugins.messages.conftest import telegram_headers, whatsapp_headers, whatsapp_inbound

PAYLOADS_FILE = Path(__file__).resolve().parents[3].parent / "shared/data/provider-payloads.json"
MESSAGING = ("whatsapp", "telegram")


@pytest.fixture(scope="module")
def payloads() -> dict[str, dict[str, Any]]:
    if not PAYLOADS_FILE.is_file():
        pytest.fail(
            f"The provider payloads file is missing: {PAYLOADS_FILE} (the checkout's "
            "../shared/data/provider-payloads.json); these tests read the real bodies from it."
        )
    return {entry["id"]: entry for entry in json.loads(PAYLOADS_FILE.read_text())}


class Channel:
    """One connected WhatsApp or Telegram integration of a shop, fed payloads by id."""

    def __init__(self, shop, payloads: dict[str, dict[str, Any]], provider: str, **options):
        self.shop, self.payloads, self.provider = shop, payloads, provider
        self.integration = shop.connect(provider, **options)

    def send(self, payload_id: str, body: str | None = None) -> dict[str, Any]:
        entry = self.payloads[payload_id]
        assert entry["provider"] == self.provider
        raw = (body or entry["body"]).encode()
        headers = whatsapp_headers(raw) if self.provider == "whatsapp" else telegram_headers()
        response = self.shop.post_webhook(self.integration, raw, headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def feed(self, *payload_ids: str) -> list[dict[str, Any]]:
        answers = [self.send(payload_id) for payload_id in payload_ids]
        self.shop.settle()
        return answers

    def messages(self) -> list[dict[str, Any]]:
        return self.shop.get(f"messages/{self.shop.pid}/inbox", provider=self.provider)

    def message(self, provider_message_id: str) -> dict[str, Any]:
        [found] = [m for m in self.messages() if m["provider_message_id"] == provider_message_id]
        return found

    def deliveries(self) -> list[dict[str, Any]]:
        return self.shop.get(f"integrations/{self.shop.pid}/{self.integration['id']}/deliveries")


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


@pytest.fixture
def whatsapp(shop, payloads) -> Channel:
    return Channel(shop, payloads, "whatsapp")


@pytest.fixture
def telegram(shop, payloads) -> Channel:
    return Channel(shop, payloads, "telegram")


WHATSAPP_SENDER = {"phone": "+972987654321", "name": "Test Name"}
WHATSAPP_STORED = {
    "WA1-text": (
        "wamid.xyzxyz",
        {"content_type": "text", "content": "Body Text", "media": None, "in_reply_to": None},
        1697043223,
    ),
    "WA2-reply-context": (
        "wamid.conf-reply",
        {"content_type": "text", "content": "replied text", "in_reply_to": "wamid.xyzxyz=="},
        1697044746,
    ),
    "WA3-image": (
        "wamid.conf-image",
        {
            "content_type": "image",
            "content": "",
            "media": {
                "id": "65463453",
                "mime_type": "image/jpeg",
                "sha256": "4654+8g=",
                "file_name": None,
            },
        },
        1697043379,
    ),
    "WA4-button-reply": (
        "wamid.conf-btn",
        {
            "content_type": "button_reply",
            "content": "title",
            "reply_option": {"id": "callback_data", "title": "title"},
            "in_reply_to": "wamid.xyzxyz",
        },
        1698266730,
    ),
    "WA5-quick-reply": (
        "wamid.xsidjw",
        {
            "content_type": "button",
            "content": "title",
            "reply_option": {"id": "callback_data", "title": "title"},
            "in_reply_to": "wamid.xyzxyz==",
        },
        1698269027,
    ),
    "WA6-list-reply": (
        "wamid.zyzxyz",
        {
            "content_type": "list_reply",
            "content": "title",
            "reply_option": {"id": "callback_data", "title": "title"},
        },
        1698266905,
    ),
    "WA7-reaction": (
        "wamid.conf-reaction",
        {
            "content_type": "reaction",
            "content": "😮",
            "in_reply_to": "wamid.yzxyzx=",
            "details": {"emoji": "😮"},
        },
        1697044456,
    ),
    "WA13-unsupported": (
        "wamid.conf-unsup",
        {"content_type": "unsupported", "content": "", "media": None},
        1697044706,
    ),
}


@pytest.mark.parametrize("payload_id", sorted(WHATSAPP_STORED))
def test_whatsapp_message_payloads_are_stored_with_type_content_and_meta_time(whatsapp, payload_id):
    provider_id, expected, timestamp = WHATSAPP_STORED[payload_id]
    [answer] = whatsapp.feed(payload_id)
    assert answer["status"] == "accepted"
    message = whatsapp.message(provider_id)
    assert {key: message[key] for key in expected} == expected
    assert message["sender"] == WHATSAPP_SENDER and message["direction"] == "inbound"
    assert moment(message["sent_at"]) == at(timestamp)
    customer = whatsapp.shop.get(f"customers/{whatsapp.shop.pid}/{message['customer_id']}")
    assert customer["phone"] == "+972987654321" and customer["name"] == "Test Name"
    [delivery] = whatsapp.deliveries()
    assert delivery["status"] == "processed" and delivery["skip_reasons"] == []


def test_the_captured_whatsapp_text_keeps_its_sender_and_a_retry_is_a_duplicate(whatsapp):
    whatsapp.feed("WA8-text-captured")
    [message] = whatsapp.messages()
    assert message["content"] == "hello jaanu"
    assert message["sender"] == {"phone": "+918096255759", "name": "Lavan Adicherla"}
    assert moment(message["sent_at"]) == at(1713500803)
    assert whatsapp.feed("WA1-text")[0]["status"] == "accepted"
    assert whatsapp.feed("WA14-replay")[0]["status"] == "duplicate"
    assert len(whatsapp.messages()) == 2


def test_an_unsupported_whatsapp_message_keeps_metas_error(whatsapp):
    whatsapp.feed("WA13-unsupported")
    [message] = whatsapp.messages()
    assert message["details"]["provider_type"] == "unsupported"
    assert message["details"]["errors"][0]["code"] == 131051


def test_a_reaction_is_linked_to_the_message_it_reacts_to_when_known(whatsapp, payloads):
    whatsapp.feed("WA1-text")
    reaction = payloads["WA7-reaction"]["body"].replace("wamid.yzxyzx=", "wamid.xyzxyz")
    whatsapp.send("WA7-reaction", reaction)
    whatsapp.shop.settle()
    text, reacted = whatsapp.message("wamid.xyzxyz"), whatsapp.message("wamid.conf-reaction")
    assert reacted["reply_to_id"] == text["id"] and reacted["in_reply_to"] == "wamid.xyzxyz"


@pytest.mark.parametrize(
    "payload_id",
    [
        "WA9-status-sent-unknown",
        "WA9-status-delivered-unknown",
        "WA9-status-read-unknown",
        "WA9-status-failed-unknown",
        "WA11-status-group",
        "WA12-captured-status-1",
        "WA12-captured-status-2",
    ],
)
def test_statuses_of_messages_nebulo_never_sent_are_skipped_with_the_reason(whatsapp, payload_id):
    [answer] = whatsapp.feed(payload_id)
    assert answer["status"] == "accepted"
    [delivery] = whatsapp.deliveries()
    assert delivery["status"] == "skipped"
    [reason] = delivery["skip_reasons"]
    assert "which Nebulo did not send" in reason
    assert whatsapp.messages() == []


def test_a_played_status_is_answered_and_recorded_as_skipped(whatsapp):
    [answer] = whatsapp.feed("WA10-status-played")
    assert answer["status"] == "skipped"
    assert answer["reasons"] == ["status 'played' is not tracked"]
    [delivery] = whatsapp.deliveries()
    assert delivery["status"] == "skipped" and delivery["skip_reasons"] == answer["reasons"]


def test_status_callbacks_date_delivery_and_reading_with_metas_timestamps(whatsapp, payloads):
    shop = whatsapp.shop
    wrote = whatsapp_inbound("Any news?", message_id="wamid.OPENS", phone="972987654321")
    whatsapp.send("WA1-text", wrote.decode())  # the customer's message opens the window
    shop.settle()
    response = shop.client.post(
        f"/api/v1/messages/{shop.pid}/send",
        json={
            "provider": "whatsapp",
            "content": "Shipped!",
            "recipient": {"phone": "+972987654321"},
        },
        headers=shop.owner,
    )
    assert response.status_code == 202
    shop.settle()
    sent = shop.get(f"messages/{shop.pid}/{response.get_json()['id']}")
    for payload_id in ("WA9-status-delivered-unknown", "WA9-status-read-unknown"):
        body = payloads[payload_id]["body"].replace("wamid.xyzxyz", sent["provider_message_id"])
        assert whatsapp.send(payload_id, body)["status"] == "accepted"
        shop.settle()
    message = shop.get(f"messages/{shop.pid}/{sent['id']}")
    assert message["status"] == "read"
    assert moment(message["delivered_at"]) == at(1698266945)
    assert moment(message["read_at"]) == at(1689380458)
    assert all(d["status"] == "processed" for d in whatsapp.deliveries())


def test_a_whatsapp_number_change_moves_the_customer_and_their_conversation(whatsapp, payloads):
    whatsapp.feed("WA1-text")
    [first] = whatsapp.messages()
    change = json.loads(payloads["WA1-text"]["body"])
    change["entry"][0]["changes"][0]["value"]["messages"] = [
        {
            "from": "972987654321",
            "id": "wamid.system-1",
            "timestamp": "1697050000",
            "type": "system",
            "system": {
                "body": "Test Name changed from 972987654321 to 972500000001",
                "new_wa_id": "972500000001",
                "type": "user_changed_number",
            },
        }
    ]
    whatsapp.send("WA1-text", json.dumps(change))
    whatsapp.shop.settle()
    customer = whatsapp.shop.get(f"customers/{whatsapp.shop.pid}/{first['customer_id']}")
    assert customer["phone"] == "+972500000001"
    later = json.loads(payloads["WA1-text"]["body"])
    message = later["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update({"from": "972500000001", "id": "wamid.after-change"})
    whatsapp.send("WA1-text", json.dumps(later))
    whatsapp.shop.settle()
    assert whatsapp.message("wamid.after-change")["customer_id"] == first["customer_id"]
    # A change for a number nobody has is recorded as skipped, not guessed at.
    message.update({"type": "system", "id": "wamid.system-2", "from": "15550000000"})
    message["system"] = {"type": "customer_changed_number", "new_wa_id": "15550000001"}
    whatsapp.send("WA1-text", json.dumps(later))
    whatsapp.shop.settle()
    skipped = [d for d in whatsapp.deliveries() if d["status"] == "skipped"]
    assert len(skipped) == 1 and "does not know" in skipped[0]["skip_reasons"][0]


def test_whatsapp_media_is_streamed_to_members_through_the_graph_media_endpoint(
    whatsapp, fakes, messages_app
):
    whatsapp.feed("WA3-image")
    shop = whatsapp.shop
    message = whatsapp.message("wamid.conf-image")
    url = f"/api/v1/messages/{shop.pid}/{message['id']}/media"
    response = shop.client.get(url, headers=shop.owner)
    assert response.status_code == 200 and response.data == FakeWhatsApp.MEDIA_BYTES
    assert response.mimetype == "image/jpeg"
    assert response.headers["Content-Disposition"] == "attachment"
    lookup, download = fakes["whatsapp"].requests
    assert lookup.path == "/65463453" and download.path == "/media-files/65463453"
    assert shop.client.get(url).status_code == 401
    stranger = ApiClient(shop.client).user_headers()
    assert shop.client.get(url, headers=stranger).status_code in (403, 404)
    fakes["whatsapp"].script(500, FakeWhatsApp.error("Temporary failure", 2, "OAuthException"))
    failed = shop.client.get(url, headers=shop.owner)
    assert failed.status_code == 502 and failed.get_json()["code"] == "BAD_GATEWAY"


def test_a_message_without_media_has_nothing_to_download(whatsapp):
    whatsapp.feed("WA1-text")
    message = whatsapp.message("wamid.xyzxyz")
    shop = whatsapp.shop
    response = shop.client.get(
        f"/api/v1/messages/{shop.pid}/{message['id']}/media", headers=shop.owner
    )
    assert response.status_code == 404 and response.get_json()["code"] == "NOT_FOUND"


# ---- Telegram ------------------------------------------------------------------------------

DOCS_SENDER = {
    "chat_id": "1111111",
    "name": "Test Firstname Test Lastname",
    "username": "Testusername",
}
CHRIS = {"chat_id": "714862471", "name": "Chris", "username": "candyflipline"}
TELEGRAM_STORED = {
    "TG1-docs-start": ("1111111:1365", {"content_type": "text", "content": "/start"}, DOCS_SENDER),
    "TG4-docs-entities-asis": (
        "1111111:1365",
        {"content_type": "text", "content": "Bold and italics"},
        DOCS_SENDER,
    ),
    "TG5-docs-entities": (
        "1111111:1366",
        {"content_type": "text", "content": "Bold and italics"},
        DOCS_SENDER,
    ),
    "TG6-docs-document": (
        "1111111:1365",
        {
            "content_type": "document",
            "content": "",
            "media": {
                "id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX",
                "mime_type": "application/pdf",
                "file_name": "Testfile.pdf",
                "file_size": 536392,
            },
        },
        DOCS_SENDER,
    ),
    "TG7-docs-reply": (
        "1111111:1367",
        {"content_type": "text", "content": "/start", "in_reply_to": "1111112:1334"},
        DOCS_SENDER,
    ),
    "TG8-start-captured": ("714862471:119", {"content": "/start"}, CHRIS),
    "TG9-text-captured": ("714862471:121", {"content": "I'm not even tracked fool"}, CHRIS),
    "TG12-photo": (
        "10734:96",
        {
            "content_type": "image",
            "content": "",
            "media": {
                "id": "dd-A_LsTIABFNx-FUOaEa_3AABAQABAg",
                "mime_type": None,
                "file_name": None,
                "file_size": 53013,
            },
        },
        {"chat_id": "10734", "name": "Fd Wd", "username": "dd"},
    ),
    "TG14-update-text": (
        "1111:241",
        {"content": "HIHI", "chat_id": None},
        {"chat_id": "1111", "name": "Fk Wg", "username": "nir"},
    ),
    "TG15-captured-entities": (
        "927266710:1374526",
        {"content": "b b b"},
        {"chat_id": "927266710", "name": ">_run", "username": "coder2020"},
    ),
}


@pytest.mark.parametrize("payload_id", sorted(TELEGRAM_STORED))
def test_telegram_message_payloads_are_stored_with_type_content_sender_and_date(
    telegram, payloads, payload_id
):
    provider_id, expected, sender = TELEGRAM_STORED[payload_id]
    [answer] = telegram.feed(payload_id)
    assert answer["status"] == "accepted"
    message = telegram.message(provider_id)
    assert {key: message[key] for key in expected} == expected
    assert message["sender"] == sender
    date = json.loads(payloads[payload_id]["body"])["message"]["date"]
    assert moment(message["sent_at"]) == at(date)
    assert message["edit_history"] == [] and message["edited_at"] is None


def test_telegram_photos_are_fetched_on_demand_through_get_file(telegram, fakes):
    telegram.feed("TG12-photo")
    shop = telegram.shop
    message = telegram.message("10734:96")
    response = shop.client.get(
        f"/api/v1/messages/{shop.pid}/{message['id']}/media", headers=shop.owner
    )
    assert response.status_code == 200 and response.data == FakeTelegram.FILE_BYTES
    get_file, _download = fakes["telegram"].requests
    assert get_file.query == {"file_id": "dd-A_LsTIABFNx-FUOaEa_3AABAQABAg"}


def test_an_edit_shows_the_new_text_and_keeps_the_previous_version(telegram):
    telegram.feed("TG9-text-captured", "TG10-edited-captured")
    message = telegram.message("714862471:121")
    assert message["content"] == "/start"
    assert moment(message["edited_at"]) == at(1709661075)
    assert moment(message["sent_at"]) == at(1709660718)
    [previous] = message["edit_history"]
    assert previous["content"] == "I'm not even tracked fool"
    assert moment(previous["at"]) == at(1709660718)
    # A retry is a duplicate delivery; the same edit in another update is skipped, saying so.
    assert telegram.feed("TG10-edited-captured")[0]["status"] == "duplicate"
    again = json.loads(telegram.payloads["TG10-edited-captured"]["body"])
    again["update_id"] += 1000
    telegram.send("TG10-edited-captured", json.dumps(again))
    telegram.shop.settle()
    assert len(telegram.message("714862471:121")["edit_history"]) == 1
    [skipped] = [d for d in telegram.deliveries() if d["status"] == "skipped"]
    assert "is already stored" in skipped["skip_reasons"][0]


def test_the_docs_edit_applies_to_the_docs_message(telegram):
    telegram.feed("TG1-docs-start", "TG2-docs-edited")
    message = telegram.message("1111111:1365")
    assert message["content"] == "Edited text" and moment(message["edited_at"]) == at(1441646600)
    assert [v["content"] for v in message["edit_history"]] == ["/start"]


def test_an_edit_that_arrives_first_is_kept_and_the_original_fills_the_history(telegram):
    telegram.feed("TG10-edited-captured")
    message = telegram.message("714862471:121")
    assert message["content"] == "/start"
    assert message["edit_history"][0]["content"] is None
    telegram.feed("TG9-text-captured")
    message = telegram.message("714862471:121")
    assert message["content"] == "/start"
    assert [v["content"] for v in message["edit_history"]] == ["I'm not even tracked fool"]
    assert len(telegram.messages()) == 1


def test_a_group_chat_is_a_conversation_and_each_message_belongs_to_its_sender(telegram, payloads):
    telegram.feed("TG13-group")
    shop = telegram.shop
    message = telegram.message("-866:10")
    assert message["chat_id"] == "-866" and message["chat_title"] == "交"
    assert message["content"] == "HIHI"
    assert message["sender"] == {"user_id": "12345", "name": "g G", "username": "GG"}
    other = json.loads(payloads["TG13-group"]["body"])
    other["update_id"] += 1
    other["message"].update(
        {"message_id": 11, "text": "me too", "from": {"id": 777, "first_name": "Ana"}}
    )
    telegram.send("TG13-group", json.dumps(other))
    shop.settle()
    chat = shop.get(f"messages/{shop.pid}/conversation/chat/telegram/-866")
    assert [(m["content"], m["sender"]["name"]) for m in chat] == [
        ("HIHI", "g G"),
        ("me too", "Ana"),
    ]
    customers = {m["customer_id"] for m in chat}
    assert len(customers) == 2
    for customer_id in customers:
        customer = shop.get(f"customers/{shop.pid}/{customer_id}")
        assert customer["telegram_chat_id"] in ("12345", "777")
    everyone = shop.get(f"customers/{shop.pid}")
    assert all(c["telegram_chat_id"] != "-866" for c in everyone)


def test_group_messages_are_not_answered_by_the_bot(shop, payloads, fakes):
    telegram = Channel(shop, payloads, "telegram", auto_reply=True, human_handoff="also")
    telegram.feed("TG13-group")
    assert len(telegram.messages()) == 1 and fakes["telegram"].requests == []


@pytest.mark.parametrize(
    ("payload_id", "reason"),
    [("TG3-docs-callback", "callback query"), ("TG11-inline-query", "inline query")],
)
def test_callback_and_inline_queries_are_answered_and_recorded_as_skipped(
    telegram, payload_id, reason
):
    [answer] = telegram.feed(payload_id)
    assert answer["status"] == "skipped" and reason in answer["reasons"][0]
    [delivery] = telegram.deliveries()
    assert delivery["status"] == "skipped" and reason in delivery["skip_reasons"][0]
    assert telegram.messages() == []


def test_a_reused_message_id_is_skipped_with_the_reason_and_its_body_kept(telegram):
    telegram.feed("TG1-docs-start", "TG4-docs-entities-asis")
    [message] = telegram.messages()
    assert message["content"] == "/start"
    reused = [d for d in telegram.deliveries() if d["status"] == "skipped"]
    assert len(reused) == 1 and "already stored with other content" in reused[0]["skip_reasons"][0]


def test_a_telegram_retry_is_a_duplicate_but_a_restarted_update_id_is_not(telegram, payloads):
    assert telegram.feed("TG9-text-captured")[0]["status"] == "accepted"
    assert telegram.feed("TG16-replay")[0]["status"] == "duplicate"
    restarted = json.loads(payloads["TG9-text-captured"]["body"])
    restarted["message"].update({"message_id": 500, "text": "a week later"})
    assert telegram.send("TG9-text-captured", json.dumps(restarted))["status"] == "accepted"
    telegram.shop.settle()
    assert [m["content"] for m in telegram.messages()] == [
        "a week later",
        "I'm not even tracked fool",
    ]


# ---- every payload -------------------------------------------------------------------------


def test_every_messaging_payload_is_stored_or_recorded_as_skipped(shop, payloads):
    """Each provider's payloads in the file's order into one integration: every delivery is
    answered 200 and ends stored (processed) or skipped with its reasons; none fails."""
    for provider in MESSAGING:
        channel = Channel(shop, payloads, provider)
        entries = [e for e in payloads.values() if e["provider"] == provider]
        answers = [channel.send(entry["id"]) for entry in entries]
        shop.settle()
        assert {a["status"] for a in answers} <= {"accepted", "skipped", "duplicate"}
        recorded = channel.deliveries()
        assert len(recorded) == sum(a["status"] != "duplicate" for a in answers)
        for delivery in recorded:
            assert delivery["status"] in ("processed", "skipped"), delivery
            if delivery["status"] == "skipped":
                assert delivery["skip_reasons"] and all(delivery["skip_reasons"])
    stored = shop.get(f"messages/{shop.pid}/inbox", page_size=100)
    by_provider = {p: [m for m in stored if m["provider"] == p] for p in MESSAGING}
    assert len(by_provider["whatsapp"]) == 9
    assert len(by_provider["telegram"]) == 9
    edited = [m for m in by_provider["telegram"] if m["edit_history"]]
    assert {m["provider_message_id"] for m in edited} == {"1111111:1365", "714862471:121"}


def test_every_messaging_payload_of_the_file_has_an_expectation_here(payloads):
    covered = (
        set(WHATSAPP_STORED)
        | set(TELEGRAM_STORED)
        | {
            "WA8-text-captured",
            "WA9-status-sent-unknown",
            "WA9-status-delivered-unknown",
            "WA9-status-read-unknown",
            "WA9-status-failed-unknown",
            "WA10-status-played",
            "WA11-status-group",
            "WA12-captured-status-1",
            "WA12-captured-status-2",
            "WA12-captured-status-3",
            "WA12-captured-status-4",
            "WA14-replay",
            "TG2-docs-edited",
            "TG3-docs-callback",
            "TG10-edited-captured",
            "TG11-inline-query",
            "TG13-group",
            "TG16-replay",
        }
    )
    in_file = {key for key, entry in payloads.items() if entry["provider"] in MESSAGING}
    assert in_file == covered
