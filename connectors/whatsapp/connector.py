"""WhatsApp Cloud API: signed webhooks (messages of every type, statuses, number changes),
sending and media downloads through the Graph API."""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from connectors.base import (
    DELIVERY_STATUS,
    DELIVERY_STATUSES,
    IGNORED,
    INBOUND_MESSAGE,
    MEDIA_TYPES,
    SENDER_CHANGED,
    ConfigField,
    Connector,
    Delivery,
    MalformedWebhook,
    MediaContent,
    NormalizedEvent,
    Progress,
    ProviderError,
    SentMessage,
    body_fingerprint,
    header,
    hmac_sha256,
    load_json,
    provider_message,
    signature_matches,
)

if TYPE_CHECKING:
    import httpx

RATE_LIMIT_CODES = {4, 80007, 130429, 131056}
TEMPLATE_FIELDS = "id,name,language,category,status,rejected_reason,components"
TEMPLATE_PAGE_SIZE = 100
PHONE = re.compile(r"^\+?[0-9]{6,20}$")
GRAPH_ERROR_TYPE = re.compile(r"[A-Za-z]{1,64}")


MEDIA_ID = re.compile(r"[0-9]{1,40}")
NUMBER_CHANGES = frozenset({"customer_changed_number", "user_changed_number"})
INTERACTIVE_REPLIES = frozenset({"button_reply", "list_reply"})


def _timestamp(value: Any) -> str | None:
    try:
        return datetime.fromtimestamp(int(value), UTC).isoformat()
    except (TypeError, ValueError, OverflowError):
        return None


def _phone(wa_id: Any) -> str:
    return "+" + str(wa_id).lstrip("+")


def message_event(message: Mapping[str, Any], names: Mapping[str, Any]) -> NormalizedEvent:
    """One inbound message of any type as the contract's ``inbound_message`` (a number change
    as ``sender_changed``); a type this code does not know is kept as ``unsupported``."""
    kind = str(message.get("type") or "unsupported")
    sender = str(message["from"])
    if kind == "system":
        return system_event(message)
    data: dict[str, Any] = {
        "provider_message_id": str(message["id"]),
        "content": "",
        "message_type": kind,
        "sender": {"phone": _phone(sender), "name": names.get(sender)},
        "sent_at": _timestamp(message.get("timestamp")),
        "in_reply_to": (message.get("context") or {}).get("id"),
    }
    body = message.get(kind) if isinstance(message.get(kind), dict) else {}
    if kind == "text":
        data["content"] = str(body["body"])
    elif kind in MEDIA_TYPES:
        data["content"] = str(body.get("caption") or "")
        data["media"] = (
            {
                "id": str(body["id"]),
                "mime_type": body.get("mime_type"),
                "sha256": body.get("sha256"),
                "file_name": body.get("filename"),
            }
            if body.get("id")
            else None
        )
    elif kind == "location":
        data["content"] = str(body.get("name") or body.get("address") or "")
        data["details"] = {
            k: body.get(k) for k in ("latitude", "longitude", "name", "address", "url")
        }
    elif kind == "contacts":
        contacts = message.get("contacts") or []
        data["content"] = ", ".join(
            str((c.get("name") or {}).get("formatted_name") or "") for c in contacts
        )
        data["details"] = {"contacts": contacts}
    elif kind == "button":
        data["content"] = str(body.get("text") or "")
        data["reply_option"] = {"id": body.get("payload"), "title": body.get("text")}
    elif kind == "interactive" and body.get("type") in INTERACTIVE_REPLIES:
        option = body[body["type"]]
        data["message_type"] = body["type"]
        data["content"] = str(option.get("title") or "")
        data["reply_option"] = {"id": option.get("id"), "title": option.get("title")}
    elif kind == "reaction":
        data["content"] = str(body.get("emoji") or "")
        data["in_reply_to"] = body.get("message_id")
        data["details"] = {"emoji": body.get("emoji") or None}
    else:
        data["message_type"] = "unsupported"
        data["details"] = {"provider_type": kind, "errors": message.get("errors") or []}
    return NormalizedEvent(INBOUND_MESSAGE, data)


def system_event(message: Mapping[str, Any]) -> NormalizedEvent:
    """A system message: a number change moves the customer, anything else is only noted."""
    system = message.get("system") or {}
    if system.get("type") not in NUMBER_CHANGES or not system.get("new_wa_id"):
        return NormalizedEvent(
            IGNORED, {"reason": f"system message {system.get('type')!r} changes nothing stored"}
        )
    old = system.get("wa_id") or message["from"]
    return NormalizedEvent(
        SENDER_CHANGED,
        {
            "old": {"phone": _phone(old)},
            "new": {"phone": _phone(system["new_wa_id"])},
            "note": system.get("body"),
            "at": _timestamp(message.get("timestamp")),
        },
    )


def status_event(status: Mapping[str, Any]) -> NormalizedEvent:
    if status.get("status") not in DELIVERY_STATUSES:
        return NormalizedEvent(
            IGNORED, {"reason": f"status {status.get('status')!r} is not tracked"}
        )
    errors = status.get("errors") or []
    error = None
    if errors:
        first = errors[0]
        error = f"{first.get('code')}: {first.get('title') or first.get('message')}"
    return NormalizedEvent(
        DELIVERY_STATUS,
        {
            "provider_message_id": str(status["id"]),
            "status": status["status"],
            "error": error,
            "reference": status.get("biz_opaque_callback_data"),
            "at": _timestamp(status.get("timestamp")),
        },
    )


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
        ConfigField(
            "business_account_id",
            "The WhatsApp Business Account (WABA) id; needed to sync message templates.",
            required=False,
        ),
    )

    @classmethod
    def clean_field(cls, name: str, value: str) -> str:
        if name == "phone_number_id" and not value.isdigit():
            raise ValueError("The phone number id is a number, e.g. 106540352242922.")
        if name == "business_account_id" and not value.isdigit():
            raise ValueError("The business account id is a number, e.g. 102290129340398.")
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
            return [NormalizedEvent(IGNORED, {"reason": f"field {field} carries no messages"})]
        names = {
            c["wa_id"]: (c.get("profile") or {}).get("name") for c in value.get("contacts") or []
        }
        events = [message_event(message, names) for message in value.get("messages") or []]
        events.extend(status_event(status) for status in value.get("statuses") or [])
        return events

    # Graph API ----------------------------------------------------------------------------
    def fetch_media(self, media: Mapping[str, Any]) -> MediaContent:
        """GET /{media-id} gives a short-lived URL, which is fetched with the same token."""
        media_id = str(media.get("id") or "")
        if not MEDIA_ID.fullmatch(media_id):
            raise ProviderError("WhatsApp media needs a numeric media id", code="NO_MEDIA")
        found = self.request("GET", self.api_url(media_id), headers=self._auth()).json()
        url = found.get("url") if isinstance(found, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderError("WhatsApp answered the media lookup without a URL")
        return self.download(url, headers=self._auth())

    def api_url(self, path: str) -> str:
        return f"{self.settings.get('NEBULO_WHATSAPP_BASE_URL').rstrip('/')}/{path}"

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config['access_token']}"}

    def send_message(
        self, recipient: Mapping[str, Any], text: str, reference: str | None = None
    ) -> SentMessage:
        """POST /{phone-number-id}/messages; ``reference`` travels as
        ``biz_opaque_callback_data``, which the Cloud API repeats in every status callback."""
        return self._send(
            recipient, {"type": "text", "text": {"preview_url": False, "body": text}}, reference
        )

    def send_template(
        self, recipient: Mapping[str, Any], template: Mapping[str, Any], reference: str | None
    ) -> SentMessage:
        """A template message (the only kind WhatsApp accepts outside the 24-hour window);
        ``template`` is the wire object built by ``templates.send_payload``."""
        return self._send(recipient, {"type": "template", "template": dict(template)}, reference)

    def _send(
        self, recipient: Mapping[str, Any], content: Mapping[str, Any], reference: str | None
    ) -> SentMessage:
        phone = str(recipient.get("phone") or "").replace(" ", "")
        if not PHONE.match(phone):
            raise ProviderError("WhatsApp needs the recipient's phone number", code="NO_RECIPIENT")
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": phone.lstrip("+"),
            **content,
        }
        if reference:
            payload["biz_opaque_callback_data"] = reference
        url = self.api_url(f"{self.config['phone_number_id']}/messages")
        body = self.request("POST", url, json=payload, headers=self._auth()).json()
        try:
            return SentMessage(str(body["messages"][0]["id"]))
        except (KeyError, IndexError, TypeError):
            raise ProviderError("WhatsApp accepted the message without a message id") from None

    def message_templates(self, progress: Progress) -> Iterator[list[dict[str, Any]]]:
        """Pages of the business account's templates (GET /{waba-id}/message_templates),
        following ``paging.next`` while it points at the same Graph API."""
        account = self.config.get("business_account_id")
        if not account:
            raise ProviderError(
                "Set the integration's business_account_id to sync templates",
                code="NO_BUSINESS_ACCOUNT",
            )
        url: str | None = self.api_url(f"{account}/message_templates")
        params: dict[str, Any] | None = {"fields": TEMPLATE_FIELDS, "limit": TEMPLATE_PAGE_SIZE}
        pages = 0
        while url:
            body = self.request("GET", url, params=params, headers=self._auth()).json()
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise ProviderError("WhatsApp answered the template list without a data list")
            pages += 1
            yield [t for t in body["data"] if isinstance(t, dict)]
            progress(min(95, pages * 10), f"{pages} page(s) of templates read")
            following = (body.get("paging") or {}).get("next")
            base = self.settings.get("NEBULO_WHATSAPP_BASE_URL").rstrip("/") + "/"
            url = following if isinstance(following, str) and following.startswith(base) else None
            params = None

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        """Graph API errors: ``{"error": {"message", "type", "code", "fbtrace_id"}}``."""
        error = super().error_from_response(response)
        try:
            detail = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            return error
        if not isinstance(detail, dict):
            return error
        code = detail.get("code") if isinstance(detail.get("code"), int) else None
        kind = detail.get("type")
        error.message = provider_message(detail.get("message")) or error.message
        if isinstance(kind, str) and GRAPH_ERROR_TYPE.fullmatch(kind):
            error.code = f"{kind}#{code}"
        elif code is not None:
            error.code = f"GraphError#{code}"
        error.retryable = error.retryable or code in RATE_LIMIT_CODES
        return error

    def health(self) -> dict[str, Any]:
        try:
            self.request("GET", self.api_url(self.config["phone_number_id"]), headers=self._auth())
        except ProviderError as error:
            return {"ok": False, "detail": str(error)}
        return {"ok": True, "detail": "phone number reachable"}
