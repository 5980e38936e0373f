"""WhatsApp Cloud API: signed webhooks (messages and statuses) and sending through the Graph API."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from connectors.base import (
    DELIVERY_STATUS,
    DELIVERY_STATUSES,
    IGNORED,
    INBOUND_MESSAGE,
    ConfigField,
    Connector,
    Delivery,
    MalformedWebhook,
    NormalizedEvent,
    ProviderError,
    SentMessage,
    body_fingerprint,
    header,
    hmac_sha256,
    load_json,
    signature_matches,
)

RATE_LIMIT_CODES = {4, 80007, 130429, 131056}
PHONE = re.compile(r"^\+?[0-9]{6,20}$")


def _timestamp(value: Any) -> str | None:
    try:
        return datetime.fromtimestamp(int(value), UTC).isoformat()
    except (TypeError, ValueError, OverflowError):
        return None


class WhatsAppConnector(Connector):
    provider: ClassVar[str] = "whatsapp"
    display_name: ClassVar[str] = "WhatsApp"
    supports_messages: ClassVar[bool] = True
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("phone_number_id", "The WhatsApp Business phone number id."),
        ConfigField(
            "access_token",
            "A system-user access token for the Graph API.",
            secret=True,
            max_length=1024,
        ),
        ConfigField("app_secret", "The Meta app secret; it signs the webhooks.", secret=True),
        ConfigField(
            "verify_token", "The token Meta sends back in the webhook handshake.", secret=True
        ),
    )

    @classmethod
    def clean_field(cls, name: str, value: str) -> str:
        if name == "phone_number_id" and not value.isdigit():
            raise ValueError("The phone number id is a number, e.g. 106540352242922.")
        return value

    # webhooks -----------------------------------------------------------------------------
    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, query: Mapping[str, str]
    ) -> bool:
        expected = "sha256=" + hmac_sha256(self.config["app_secret"], raw_body).hex()
        return signature_matches(expected, header(headers, "X-Hub-Signature-256"))

    def handshake(self, query: Mapping[str, str]) -> str | None:
        token = query.get("hub.verify_token") or ""
        if query.get("hub.mode") != "subscribe" or "hub.challenge" not in query:
            return None
        if not hmac.compare_digest(token.encode(), self.config["verify_token"].encode()):
            return None
        return query["hub.challenge"]

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> Delivery:
        body = load_json(raw_body)
        if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
            raise MalformedWebhook("expected an object with an entry list")
        events: list[NormalizedEvent] = []
        try:
            for entry in body["entry"]:
                for change in entry.get("changes") or []:
                    events.extend(
                        self._change_events(change.get("field"), change.get("value") or {})
                    )
        except (AttributeError, TypeError, KeyError) as error:
            raise MalformedWebhook(f"unexpected webhook structure: {error!r}") from None
        if not events:
            events.append(NormalizedEvent(IGNORED, {"reason": "no messages or statuses"}))
        return Delivery(body_fingerprint(raw_body), str(body.get("object") or ""), events)

    @staticmethod
    def _change_events(field: str | None, value: Mapping[str, Any]) -> list[NormalizedEvent]:
        if field != "messages":
            return [NormalizedEvent(IGNORED, {"reason": f"field {field}"})]
        names = {
            c["wa_id"]: (c.get("profile") or {}).get("name") for c in value.get("contacts") or []
        }
        events = []
        for message in value.get("messages") or []:
            if message.get("type") != "text":
                events.append(
                    NormalizedEvent(IGNORED, {"reason": f"{message.get('type')} message"})
                )
                continue
            sender = str(message["from"])
            events.append(
                NormalizedEvent(
                    INBOUND_MESSAGE,
                    {
                        "provider_message_id": str(message["id"]),
                        "content": str(message["text"]["body"]),
                        "sender": {"phone": "+" + sender.lstrip("+"), "name": names.get(sender)},
                        "sent_at": _timestamp(message.get("timestamp")),
                    },
                )
            )
        for status in value.get("statuses") or []:
            if status.get("status") not in DELIVERY_STATUSES:
                events.append(
                    NormalizedEvent(IGNORED, {"reason": f"status {status.get('status')}"})
                )
                continue
            errors = status.get("errors") or []
            error = None
            if errors:
                first = errors[0]
                error = f"{first.get('code')}: {first.get('title') or first.get('message')}"
            events.append(
                NormalizedEvent(
                    DELIVERY_STATUS,
                    {
                        "provider_message_id": str(status["id"]),
                        "status": status["status"],
                        "error": error,
                        "reference": status.get("biz_opaque_callback_data"),
                    },
                )
            )
        return events

    # Graph API ----------------------------------------------------------------------------
    def api_url(self, path: str) -> str:
        return f"{self.settings.get('NEBULO_WHATSAPP_BASE_URL').rstrip('/')}/{path}"

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config['access_token']}"}

    def send_message(
        self, recipient: Mapping[str, Any], text: str, reference: str | None = None
    ) -> SentMessage:
        """POST /{phone-number-id}/messages; ``reference`` travels as
        ``biz_opaque_callback_data``, which the Cloud API repeats in every status callback."""
        phone = str(recipient.get("phone") or "").replace(" ", "")
        if not PHONE.match(phone):
            raise ProviderError("WhatsApp needs the recipient's phone number", code="NO_RECIPIENT")
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": phone.lstrip("+"),
            "type": "text",
            "text": {"preview_url": False, "body": text},
        }
        if reference:
            payload["biz_opaque_callback_data"] = reference
        url = self.api_url(f"{self.config['phone_number_id']}/messages")
        body = self.request("POST", url, json=payload, headers=self._auth()).json()
        try:
            return SentMessage(str(body["messages"][0]["id"]))
        except (KeyError, IndexError, TypeError):
            raise ProviderError("WhatsApp accepted the message without a message id") from None

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        """Graph API errors: ``{"error": {"message", "type", "code", "fbtrace_id"}}``."""
        error = super().error_from_response(response)
        try:
            detail = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            return error
        code = detail.get("code")
        error.message = str(detail.get("message") or error.message)
        error.code = f"{detail.get('type', 'GraphError')}#{code}"
        error.retryable = error.retryable or code in RATE_LIMIT_CODES
        return error

    def health(self) -> dict[str, Any]:
        try:
            self.request("GET", self.api_url(self.config["phone_number_id"]), headers=self._auth())
        except ProviderError as error:
            return {"ok": False, "detail": str(error)}
        return {"ok": True, "detail": "phone number reachable"}
