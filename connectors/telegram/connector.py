"""Telegram Bot API: webhook updates checked by their secret token, and sendMessage."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from connectors.base import (
    IGNORED,
    INBOUND_MESSAGE,
    ConfigField,
    Connector,
    Delivery,
    MalformedWebhook,
    NormalizedEvent,
    ProviderError,
    SentMessage,
    header,
    load_json,
    signature_matches,
)

SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
BOT_TOKEN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")


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
        update = load_json(raw_body)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            raise MalformedWebhook("an update needs an integer update_id")
        delivery_id = str(update["update_id"])
        message = update.get("message")
        if not isinstance(message, dict):
            kinds = sorted(k for k in update if k != "update_id")
            return Delivery(
                delivery_id, "update", [NormalizedEvent(IGNORED, {"reason": f"update {kinds}"})]
            )
        try:
            chat_id = str(message["chat"]["id"])
            message_id = int(message["message_id"])
        except (KeyError, TypeError, ValueError):
            raise MalformedWebhook("a message needs chat.id and message_id") from None
        text = message.get("text")
        if not isinstance(text, str):
            return Delivery(
                delivery_id, "message", [NormalizedEvent(IGNORED, {"reason": "not a text message"})]
            )
        author = message.get("from") or {}
        name = " ".join(p for p in (author.get("first_name"), author.get("last_name")) if p) or None
        sent_at = message.get("date")
        event = NormalizedEvent(
            INBOUND_MESSAGE,
            {
                "provider_message_id": f"{chat_id}:{message_id}",
                "content": text,
                "sender": {"chat_id": chat_id, "name": name, "username": author.get("username")},
                "sent_at": datetime.fromtimestamp(sent_at, UTC).isoformat()
                if isinstance(sent_at, int)
                else None,
            },
        )
        return Delivery(delivery_id, "message", [event])

    def api_url(self, method: str) -> str:
        base = self.settings.get("NEBULO_TELEGRAM_BASE_URL").rstrip("/")
        return f"{base}/bot{self.config['bot_token']}/{method}"

    def send_message(
        self, recipient: Mapping[str, Any], text: str, reference: str | None = None
    ) -> SentMessage:
        """sendMessage; the Bot API has no field that would echo ``reference`` back."""
        chat_id = recipient.get("chat_id")
        if not chat_id:
            raise ProviderError("Telegram needs the recipient's chat_id", code="NO_RECIPIENT")
        body = self.request(
            "POST", self.api_url("sendMessage"), json={"chat_id": chat_id, "text": text}
        ).json()
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
        error.message = str(body.get("description") or error.message)
        error.code = f"telegram#{body.get('error_code', response.status_code)}"
        retry_after = (body.get("parameters") or {}).get("retry_after")
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

    def health(self) -> dict[str, Any]:
        try:
            me = self.request("GET", self.api_url("getMe")).json().get("result", {})
        except ProviderError as error:
            return {"ok": False, "detail": str(error)}
        return {"ok": True, "detail": f"bot @{me.get('username')}"}
