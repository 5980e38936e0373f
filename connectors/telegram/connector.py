"""Telegram Bot API: webhook updates checked by their secret token (messages, edits, media,
groups), sendMessage and file downloads through getFile."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from connectors.base import (
    IGNORED,
    INBOUND_MESSAGE,
    MESSAGE_EDITED,
    ConfigField,
    Connector,
    Delivery,
    MalformedWebhook,
    MediaContent,
    NormalizedEvent,
    ProviderError,
    SentMessage,
    body_fingerprint,
    header,
    load_json,
    provider_message,
    signature_matches,
)

if TYPE_CHECKING:
    import httpx

SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
BOT_TOKEN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")
FILE_ID = re.compile(r"[A-Za-z0-9_-]{1,256}")
FILE_PATH = re.compile(r"[A-Za-z0-9_./-]{1,512}")
MESSAGE_UPDATES = ("message", "edited_message", "channel_post", "edited_channel_post")
GROUP_CHATS = frozenset({"group", "supergroup", "channel"})
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
"""What setWebhook asks Telegram to deliver."""
SKIPPED_UPDATES = {
    "callback_query": "callback query without data or chat: nothing to store",
    "inline_query": "inline query (the bot used inline in another chat): nothing to store",
    "chosen_inline_result": "chosen inline result: nothing to store",
    "my_chat_member": "the bot's own membership changed: nothing to store",
    "chat_member": "a chat member changed: nothing to store",
}
MEDIA_FIELDS = {
    "photo": "image",
    "animation": "video",
    "document": "document",
    "audio": "audio",
    "voice": "audio",
    "video": "video",
    "video_note": "video",
    "sticker": "sticker",
}
"""Telegram's attachment fields and the contract's message type of each (checked in order:
an animation also carries a ``document``)."""

ENVELOPE_FIELDS = frozenset(
    {
        "message_id",
        "from",
        "chat",
        "date",
        "edit_date",
        "reply_to_message",
        "caption",
        "entities",
        "caption_entities",
        "has_protected_content",
        "message_thread_id",
        "sender_chat",
        "forward_origin",
        "is_topic_message",
        "author_signature",
    }
)
"""Fields of every message, not what it carries."""


def _moment(value: Any) -> str | None:
    return datetime.fromtimestamp(value, UTC).isoformat() if isinstance(value, int) else None


def _name(person: Mapping[str, Any]) -> str | None:
    parts = (person.get("first_name"), person.get("last_name"))
    return " ".join(str(p) for p in parts if p) or person.get("title") or None


def is_group(chat: Mapping[str, Any]) -> bool:
    """Groups have negative ids and a title; a private chat is the user's own id."""
    return chat.get("type") in GROUP_CHATS or int(chat["id"]) < 0 or "title" in chat


def message_event(message: Mapping[str, Any], *, edited: bool) -> NormalizedEvent:
    """A message (or its edit) with its type, caption, media and sender. In a group the
    conversation is the chat and the sender is who wrote (``from``), never the group."""
    chat = message["chat"]
    chat_id = str(int(chat["id"]))
    message_id = int(message["message_id"])
    author = message.get("from") if isinstance(message.get("from"), dict) else {}
    data: dict[str, Any] = {
        "provider_message_id": f"{chat_id}:{message_id}",
        "content": "",
        "message_type": "text",
        "sent_at": _moment(message["date"]),
    }
    if is_group(chat):
        data["conversation"] = {"id": chat_id, "title": chat.get("title"), "type": chat.get("type")}
        data["sender"] = {
            "user_id": str(author["id"]) if author.get("id") is not None else None,
            "name": _name(author) or chat.get("title"),
            "username": author.get("username"),
        }
    else:
        data["sender"] = {
            "chat_id": chat_id,
            "name": _name(author) or _name(chat),
            "username": author.get("username") or chat.get("username"),
        }
    reply = message.get("reply_to_message")
    if isinstance(reply, dict) and "message_id" in reply:
        reply_chat = (reply.get("chat") or {}).get("id", chat_id)
        data["in_reply_to"] = f"{reply_chat}:{reply['message_id']}"
    data.update(_body(message))
    if edited:
        data["edited_at"] = _moment(message.get("edit_date")) or data["sent_at"]
    return NormalizedEvent(MESSAGE_EDITED if edited else INBOUND_MESSAGE, data)


def _body(message: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(message.get("text"), str):
        return {"message_type": "text", "content": message["text"]}
    caption = str(message.get("caption") or "")
    for field_name, message_type in MEDIA_FIELDS.items():
        attachment = message.get(field_name)
        if isinstance(attachment, list) and attachment:
            attachment = max(attachment, key=lambda size: size.get("file_size") or 0)
        if isinstance(attachment, dict) and attachment.get("file_id"):
            return {
                "message_type": message_type,
                "content": caption,
                "media": {
                    "id": str(attachment["file_id"]),
                    "mime_type": attachment.get("mime_type"),
                    "file_name": attachment.get("file_name"),
                    "file_size": attachment.get("file_size"),
                },
            }
    if isinstance(message.get("location"), dict):
        location = message["location"]
        return {
            "message_type": "location",
            "content": caption,
            "details": {k: location.get(k) for k in ("latitude", "longitude")},
        }
    if isinstance(message.get("contact"), dict):
        contact = message["contact"]
        return {
            "message_type": "contacts",
            "content": _name(contact) or "",
            "details": {"contacts": [contact]},
        }
    known = sorted(k for k, v in message.items() if k not in ENVELOPE_FIELDS and v is not None)
    return {
        "message_type": "unsupported",
        "content": caption,
        "details": {"provider_type": known[0] if known else None, "fields": known},
    }


def button_event(pressed: Mapping[str, Any]) -> NormalizedEvent | None:
    """An inline button press (callback_query) as the customer's ``button_reply`` in the chat
    of the message that carried the button; None without data or that chat."""
    data = pressed.get("data")
    origin = pressed.get("message") if isinstance(pressed.get("message"), dict) else {}
    chat = origin.get("chat") if isinstance(origin.get("chat"), dict) else None
    author = pressed.get("from") if isinstance(pressed.get("from"), dict) else {}
    if not isinstance(data, str) or chat is None or pressed.get("id") is None:
        return None
    try:
        chat_id = str(int(chat["id"]))
    except (KeyError, TypeError, ValueError):
        return None
    title = next(
        (
            button.get("text")
            for row in (origin.get("reply_markup") or {}).get("inline_keyboard") or []
            for button in row
            if isinstance(button, dict) and button.get("callback_data") == data
        ),
        data,
    )
    event: dict[str, Any] = {
        "provider_message_id": f"callback:{pressed['id']}",
        "content": str(title),
        "message_type": "button_reply",
        "reply_option": {"id": data, "title": title},
        "sent_at": _moment(origin.get("date")),
        "details": {"callback_query_id": str(pressed["id"])},
    }
    if "message_id" in origin:
        event["in_reply_to"] = f"{chat_id}:{origin['message_id']}"
    if is_group(chat):
        event["conversation"] = {
            "id": chat_id,
            "title": chat.get("title"),
            "type": chat.get("type"),
        }
        event["sender"] = {"user_id": str(author.get("id")), "name": _name(author)}
    else:
        event["sender"] = {
            "chat_id": chat_id,
            "name": _name(author) or _name(chat),
            "username": author.get("username"),
        }
    return NormalizedEvent(INBOUND_MESSAGE, event)


class TelegramConnector(Connector):
    provider: ClassVar[str] = "telegram"
    display_name: ClassVar[str] = "Telegram"
    supports_messages: ClassVar[bool] = True
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("bot_token", "The bot's token from @BotFather (123456:ABC-...).", secret=True),
        ConfigField(
            "secret_token",
            "The secret_token given to setWebhook (A-Z, a-z, 0-9, _ and -).",
            secret=True,
        ),
    )

    @classmethod
    def clean_field(cls, name: str, value: str) -> str:
        if name == "bot_token" and not BOT_TOKEN.match(value):
            raise ValueError("A bot token looks like 123456:ABC-DEF1234ghIkl.")
        if name == "secret_token" and not SECRET_TOKEN.match(value):
            raise ValueError("Use 1-256 characters among A-Z, a-z, 0-9, _ and -.")
        return value

    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, query: Mapping[str, str]
    ) -> bool:
        return signature_matches(
            self.config["secret_token"], header(headers, "X-Telegram-Bot-Api-Secret-Token")
        )

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> Delivery:
        """Keyed by the body's fingerprint, not ``update_id``: the Bot API may number updates
        from scratch after a week of silence, while a retry repeats the same bytes. Messages
        are then unique by chat, message id and edit date (see the messages plugin)."""
        update = load_json(raw_body)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            raise MalformedWebhook("an update needs an integer update_id")
        delivery_id = body_fingerprint(raw_body)
        kind = next((k for k in MESSAGE_UPDATES if isinstance(update.get(k), dict)), None)
        pressed = update.get("callback_query")
        if kind is None and isinstance(pressed, dict) and button_event(pressed) is not None:
            return Delivery(delivery_id, "callback_query", [button_event(pressed)])
        if kind is None:
            kinds = sorted(k for k in update if k != "update_id")
            topic = kinds[0] if kinds else "update"
            reason = SKIPPED_UPDATES.get(topic, f"update {kinds} carries no message")
            return Delivery(delivery_id, topic, [NormalizedEvent(IGNORED, {"reason": reason})])
        try:
            event = message_event(update[kind], edited=kind.startswith("edited_"))
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            raise MalformedWebhook("a message needs chat.id, message_id and date") from None
        return Delivery(delivery_id, kind, [event])

    def fetch_media(self, media: Mapping[str, Any]) -> MediaContent:
        """getFile gives the file's path, then /file/bot<token>/<path> its bytes."""
        file_id = str(media.get("id") or "")
        if not FILE_ID.fullmatch(file_id):
            raise ProviderError("Telegram media needs a file_id", code="NO_MEDIA")
        found = self.request("GET", self.api_url("getFile"), params={"file_id": file_id}).json()
        path = (found.get("result") or {}).get("file_path") if isinstance(found, dict) else None
        if not isinstance(path, str) or not FILE_PATH.fullmatch(path):
            raise ProviderError("Telegram answered getFile without a usable file_path")
        base = self.settings.get("NEBULO_TELEGRAM_BASE_URL").rstrip("/")
        try:
            return self.download(f"{base}/file/bot{self.config['bot_token']}/{path}")
        except ProviderError as error:
            error.message = error.message.replace(self.config["bot_token"], "<bot token>")
            raise

    def api_url(self, method: str) -> str:
        base = self.settings.get("NEBULO_TELEGRAM_BASE_URL").rstrip("/")
        return f"{base}/bot{self.config['bot_token']}/{method}"

    def send_message(
        self,
        recipient: Mapping[str, Any],
        text: str,
        reference: str | None = None,
        buttons: list[list[dict[str, str]]] | None = None,
    ) -> SentMessage:
        """sendMessage; the Bot API has no field that would echo ``reference`` back.
        ``buttons`` are inline keyboard rows ({text, callback_data})."""
        chat_id = recipient.get("chat_id")
        if not chat_id:
            raise ProviderError("Telegram needs the recipient's chat_id", code="NO_RECIPIENT")
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if buttons:
            payload["reply_markup"] = {"inline_keyboard": buttons}
        body = self.request("POST", self.api_url("sendMessage"), json=payload).json()
        try:
            return SentMessage(f"{chat_id}:{body['result']['message_id']}")
        except (KeyError, TypeError):
            raise ProviderError("Telegram accepted the message without a message_id") from None

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        """``{"ok": false, "error_code", "description", "parameters": {"retry_after"}}``."""
        error = super().error_from_response(response)
        try:
            body = response.json()
        except ValueError:
            return error
        if not isinstance(body, dict):
            return error
        error.message = provider_message(body.get("description")) or error.message
        error_code = body.get("error_code")
        error.code = (
            f"telegram#{error_code if isinstance(error_code, int) else response.status_code}"
        )
        parameters = body.get("parameters")
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        if isinstance(retry_after, int | float):
            error.retry_after = float(retry_after)
            error.retryable = True
        # The bot token is part of the URL: never let it reach an error message.
        error.message = error.message.replace(self.config["bot_token"], "<bot token>")
        return error

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return super().request(method, url, **kwargs)
        except ProviderError as error:
            error.message = error.message.replace(self.config["bot_token"], "<bot token>")
            raise

    def answer_button(self, callback_query_id: str) -> None:
        """answerCallbackQuery: stops the pressed button's loading spinner."""
        self.request(
            "POST",
            self.api_url("answerCallbackQuery"),
            json={"callback_query_id": callback_query_id},
        )

    def set_webhook(self, url: str) -> None:
        """setWebhook with the integration's secret_token, which every update then carries
        in X-Telegram-Bot-Api-Secret-Token (checked by :meth:`verify_webhook`)."""
        body = self.request(
            "POST",
            self.api_url("setWebhook"),
            json={
                "url": url,
                "secret_token": self.config["secret_token"],
                "allowed_updates": ALLOWED_UPDATES,
            },
        ).json()
        if not isinstance(body, dict) or body.get("result") is not True:
            raise ProviderError("Telegram did not confirm the webhook", code="WEBHOOK_NOT_SET")

    def webhook_info(self) -> dict[str, Any]:
        """getWebhookInfo's url, pending_update_count and last error, if any."""
        body = self.request("GET", self.api_url("getWebhookInfo")).json()
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, dict):
            raise ProviderError("Telegram answered getWebhookInfo without a result")
        return {
            "url": str(result.get("url") or ""),
            "pending_update_count": result.get("pending_update_count"),
            "last_error": provider_message(result.get("last_error_message")),
            "last_error_date": _moment(result.get("last_error_date")),
        }

    def health(self) -> dict[str, Any]:
        try:
            me = self.request("GET", self.api_url("getMe")).json().get("result", {})
        except ProviderError as error:
            return {"ok": False, "detail": str(error)}
        return {"ok": True, "detail": f"bot @{me.get('username')}"}
