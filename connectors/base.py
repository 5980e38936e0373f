"""The Connector contract: what a channel (a shop, a messenger) must offer Nebulo.

A connector is a class registered through the ``register_connectors`` hook under its
``provider`` name. It validates an integration's configuration (declaring which fields are
secrets), verifies and parses webhook deliveries into normalized events, sends messages,
syncs history and reports its health. It knows nothing of the database: the ``messages``
plugin stores what a connector parses and applies it. A new channel (email, Instagram) is one
more package implementing this class; no core change.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

from core.errors import Invalid

if TYPE_CHECKING:
    import httpx

ORDER_UPSERT = "order_upsert"
INBOUND_MESSAGE = "inbound_message"
DELIVERY_STATUS = "delivery_status"
IGNORED = "ignored"
MESSAGE_EDITED = "message_edited"
SENDER_CHANGED = "sender_changed"
EVENT_KINDS = (
    ORDER_UPSERT,
    INBOUND_MESSAGE,
    DELIVERY_STATUS,
    IGNORED,
    MESSAGE_EDITED,
    SENDER_CHANGED,
)
DELIVERY_STATUSES = ("sent", "delivered", "read", "failed")
MESSAGE_TYPES = (
    "text",
    "image",
    "document",
    "audio",
    "video",
    "sticker",
    "location",
    "contacts",
    "button",
    "button_reply",
    "list_reply",
    "reaction",
    "unsupported",
)
"""What an inbound message is; a provider's other kinds map to the nearest one or to
``unsupported`` (kept, with the provider's own name in ``details``)."""
MEDIA_TYPES = frozenset({"image", "document", "audio", "video", "sticker"})
REQUEST_TIMEOUT_SECONDS = 15.0
MAX_PROVIDER_MESSAGE_LENGTH = 300
MAX_MEDIA_BYTES = 100 * 1024 * 1024
"""WhatsApp's largest document; Telegram bots may download up to 20 MB."""

Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class ConfigField:
    """One configuration value of an integration; ``secret`` ones are encrypted and masked."""

    name: str
    description: str
    required: bool = True
    secret: bool = False
    max_length: int = 512


@dataclass(frozen=True)
class NormalizedEvent:
    """What a webhook or a sync means for Nebulo, independent of the provider's format.

    ``order_upsert``: data has external_id, status, total, currency, order_date, updated_at,
    customer {external_id, name, email, phone} and items [{name (the variant's), sku,
    quantity, price}]; optionally test (a test order: kept, counted in no figure), subtotal,
    tax, shipping, discounts, refunded (all in ``currency``, the shop's) and presentment
    {currency, total} (what the buyer paid in another currency). Each upsert is the order's
    whole current version: lines and amounts replace the stored ones. For an order deleted
    at the provider, data is only {external_id, deleted: true}.
    ``inbound_message``: provider_message_id, content (the text, or a media's caption, or
    ""), sender {phone | chat_id | user_id, name, username}, sent_at (the provider's time,
    ISO 8601) and, optionally: message_type (one of ``MESSAGE_TYPES``, default text); media
    {id, mime_type, sha256, file_name, file_size} that :meth:`Connector.fetch_media` can
    download; reply_option {id, title} (the button or list row a customer chose); in_reply_to
    (the provider id of the message answered or reacted to); details (type-specific facts:
    location, contacts, reaction emoji, the provider's type name); conversation {id, title,
    type} when the message was written in a group (the conversation belongs to the chat, the
    message to its sender; without it the conversation is the sender's own).
    ``message_edited``: the same fields as ``inbound_message`` (the new version) plus
    edited_at; the edit replaces the shown content and the previous versions are kept.
    ``delivery_status``: provider_message_id, status (sent, delivered, read, failed), error,
    at (the provider's time of the status, ISO 8601, or None).
    ``sender_changed``: old {phone | chat_id}, new {phone | chat_id}, note: a customer moved
    to a new number; their customer and conversation follow.
    ``ignored``: reason (recorded with the delivery as why nothing was stored).
    """

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")
        object.__setattr__(self, "data", without_nul(self.data))


def without_nul(value: Any) -> Any:
    """``value`` with every NUL in its strings (keys too) replaced by U+FFFD: PostgreSQL
    refuses NUL in text, and a customer's message is a fact to keep, not to drop. Iterative,
    because the values come from a provider's JSON, nested as deeply as the parser allowed."""
    root = [value]
    pending: list[tuple[Any, Any]] = [(root, 0)]
    while pending:
        container, key = pending.pop()
        item = container[key]
        if isinstance(item, str):
            container[key] = item.replace("\x00", "\ufffd")
        elif isinstance(item, dict):
            copy = {without_nul(k): v for k, v in item.items()}
            container[key] = copy
            pending.extend((copy, k) for k in copy)
        elif isinstance(item, list | tuple):
            copy = list(item)
            container[key] = copy
            pending.extend((copy, index) for index in range(len(copy)))
    return root[0]


@dataclass(frozen=True)
class Delivery:
    """One parsed webhook delivery: the provider's id for it (retries share it), its events."""

    delivery_id: str
    topic: str
    events: list[NormalizedEvent]


@dataclass(frozen=True)
class SentMessage:
    provider_message_id: str


@dataclass(frozen=True)
class MediaContent:
    """A downloaded attachment: its bytes and the provider's content type."""

    content: bytes
    mime_type: str


class MalformedWebhook(Exception):
    """The delivery is correctly signed but its body cannot be understood."""


class ProviderError(Exception):
    """The provider refused or failed a call. ``retryable`` errors may succeed later.

    ``retry_after`` is the wait in seconds the provider asked for (HTTP 429), if any.
    ``outcome_unknown``: the request may have reached the provider (the answer was lost), so
    repeating a send could deliver it twice.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown

    def __str__(self) -> str:
        prefix = f"{self.status} " if self.status else ""
        return f"{prefix}{self.code + ': ' if self.code else ''}{self.message}"


def signature_matches(expected: str | bytes, given: str | bytes | None) -> bool:
    """Constant-time comparison of a computed signature with the one a request carries."""
    if not given:
        return False
    expected_bytes = expected.encode() if isinstance(expected, str) else expected
    given_bytes = given.encode() if isinstance(given, str) else given
    return hmac.compare_digest(expected_bytes, given_bytes)


def hmac_sha256(secret: str, raw_body: bytes) -> bytes:
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()


def body_fingerprint(raw_body: bytes) -> str:
    """An id for deliveries the provider does not number: a retry carries the same bytes."""
    return "sha256:" + hashlib.sha256(raw_body).hexdigest()


def load_json(raw_body: bytes) -> Any:
    try:
        return json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedWebhook(f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise MalformedWebhook("the body is nested too deeply") from None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (werkzeug headers are, plain dicts are not)."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


class Connector(ABC):
    """Base of every connector. Subclasses set ``provider`` and ``config_fields``.

    An instance is bound to one integration's decrypted ``config`` and the app's settings
    (``settings.get("NEBULO_...")`` for base URLs). HTTP calls go through :meth:`request`,
    which sends them through the outbound guard (:mod:`core.outbound`) and turns the
    provider's failures into :class:`ProviderError`.
    """

    provider: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    config_fields: ClassVar[tuple[ConfigField, ...]] = ()
    supports_sync: ClassVar[bool] = False
    supports_messages: ClassVar[bool] = False

    def __init__(
        self, config: Mapping[str, Any], settings: Any, *, client: httpx.Client | None = None
    ):
        self.config = dict(config)
        self.settings = settings
        self._client = client

    # configuration ------------------------------------------------------------------------
    @classmethod
    def secret_fields(cls) -> frozenset[str]:
        return frozenset(f.name for f in cls.config_fields if f.secret)

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """The cleaned configuration, or ``Invalid`` naming each bad field as ``config.<name>``."""
        known = {f.name: f for f in cls.config_fields}
        errors: dict[str, list[str]] = {}
        cleaned: dict[str, Any] = {}
        for name in config:
            if name not in known:
                errors[f"config.{name}"] = [f"Unknown field for {cls.provider}."]
        for spec in cls.config_fields:
            value = config.get(spec.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                if spec.required:
                    errors[f"config.{spec.name}"] = [
                        f"Missing data for required field. {spec.description}"
                    ]
                continue
            if not isinstance(value, str):
                errors[f"config.{spec.name}"] = ["Not a valid string."]
                continue
            value = value.strip()
            if len(value) > spec.max_length:
                errors[f"config.{spec.name}"] = [f"Longer than {spec.max_length} characters."]
                continue
            try:
                cleaned[spec.name] = cls.clean_field(spec.name, value)
            except ValueError as error:
                errors[f"config.{spec.name}"] = [str(error)]
        if errors:
            raise Invalid(f"Invalid {cls.provider} configuration", errors=errors)
        return cleaned

    @classmethod
    def clean_field(cls, name: str, value: str) -> str:
        """Normalize one field or raise ``ValueError`` with a message for the client."""
        return value

    # webhooks -----------------------------------------------------------------------------
    @abstractmethod
    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, query: Mapping[str, str]
    ) -> bool:
        """True when the delivery is signed by the provider for this integration."""

    def handshake(self, query: Mapping[str, str]) -> str | None:
        """Answer a provider's GET verification request, or None when it does not match."""
        return None

    @abstractmethod
    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> Delivery:
        """Normalized events of a verified delivery; ``MalformedWebhook`` when unreadable."""

    # outbound -----------------------------------------------------------------------------
    def send_message(
        self, recipient: Mapping[str, Any], text: str, reference: str | None = None
    ) -> SentMessage:
        """Send a text; the provider's message id comes back, or ``ProviderError``. A provider
        that echoes a caller's ``reference`` (our message id) in its status callbacks should
        pass it on: a message whose send outcome was lost is then reconciled by the callback."""
        raise ProviderError(
            f"{self.provider} integrations cannot send messages", code="NOT_SUPPORTED"
        )

    def fetch_media(self, media: Mapping[str, Any]) -> MediaContent:
        """Download an inbound message's attachment (its ``media`` reference), on demand:
        providers keep media for a while, Nebulo stores only the reference."""
        raise ProviderError(f"{self.provider} messages carry no media", code="NOT_SUPPORTED")

    def sync(self, since: Any, progress: Progress) -> Iterator[list[NormalizedEvent]]:
        """Pages of events changed since ``since`` (None: everything); reports ``progress``."""
        raise ProviderError(
            f"{self.provider} integrations have nothing to sync", code="NOT_SUPPORTED"
        )

    @abstractmethod
    def health(self) -> dict[str, Any]:
        """``{"ok": bool, "detail": str}`` from a cheap authenticated call to the provider."""

    # HTTP ---------------------------------------------------------------------------------
    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            # httpx (through core.outbound) is imported on the first call, not by every command.
            from core import outbound

            self._client = outbound.client(
                allow_private=bool(self.settings.allow_private_urls),
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One HTTP call; network failures and 5xx/429 are retryable ``ProviderError``. A
        failure after the request went out (no answer, connection dropped) is also
        ``outcome_unknown``: the provider may have acted on it. A refused destination and a
        redirect (never followed: it would carry the credentials along) are final."""
        with self._transport_errors():
            response = self.client.request(method, url, **kwargs)
        return self._accepted(response)

    def download(
        self, url: str, *, max_bytes: int = MAX_MEDIA_BYTES, **kwargs: Any
    ) -> MediaContent:
        """GET a file through the same guard as :meth:`request`, read in chunks and refused
        once it grows past ``max_bytes`` (an answer's size is the server's to choose)."""
        with self._transport_errors(), self.client.stream("GET", url, **kwargs) as response:
            if response.is_redirect or response.status_code >= 400:
                response.read()
                self._accepted(response)
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise ProviderError(
                        f"the {self.provider} file is larger than {max_bytes} bytes",
                        code="MEDIA_TOO_LARGE",
                    )
                chunks.append(chunk)
            mime_type = response.headers.get("Content-Type") or "application/octet-stream"
        return MediaContent(b"".join(chunks), mime_type.split(";")[0].strip())

    @contextmanager
    def _transport_errors(self) -> Iterator[None]:
        import httpx

        from core import outbound

        try:
            yield
        except outbound.RefusedDestination as error:
            raise ProviderError(
                f"{self.provider} was not called: {outbound.describe_failure(error)}",
                code="REFUSED_DESTINATION",
            ) from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise ProviderError(
                f"{self.provider} is unreachable: {outbound.describe_failure(error)}",
                retryable=True,
            ) from None
        except httpx.TimeoutException:
            raise ProviderError(
                f"{self.provider} did not answer in time", retryable=True, outcome_unknown=True
            ) from None
        except httpx.HTTPError as error:
            raise ProviderError(
                f"{self.provider} dropped the call: {outbound.describe_failure(error)}",
                retryable=True,
                outcome_unknown=True,
            ) from None

    def _accepted(self, response: httpx.Response) -> httpx.Response:
        if response.is_redirect:
            raise ProviderError(
                f"{self.provider} answered with a redirect, which is not followed",
                status=response.status_code,
                code="REDIRECT",
            )
        if response.status_code >= 400:
            raise self.error_from_response(response)
        return response

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        """A ``ProviderError`` with the status and our own words; subclasses replace the
        message with one read from their provider's documented error shape (through
        :func:`provider_message`), never the raw body, which may come from anywhere."""
        return ProviderError(
            f"{self.provider} answered {status_text(response.status_code)}",
            status=response.status_code,
            retryable=response.status_code == 429 or response.status_code >= 500,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )


def status_text(status: int) -> str:
    """``HTTP 404 Not Found`` from the status code alone: the server's reason phrase is its
    own text and may say anything."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def provider_message(value: Any) -> str | None:
    """A message field of a provider's error body, when it is one: a string, on one line,
    bounded. Anything else (an object, a page of HTML) is not a message."""
    if not isinstance(value, str) or not value.strip():
        return None
    return " ".join(value.split())[:MAX_PROVIDER_MESSAGE_LENGTH]


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def call_with_rate_limit(
    call: Callable[[], Any], *, attempts: int = 5, max_wait: float = 60.0
) -> Any:
    """Run ``call``, waiting as long as the provider asks when it answers 429, a few times."""
    attempt = 1
    while True:
        try:
            return call()
        except ProviderError as error:
            if error.status != 429 or attempt >= attempts:
                raise
            wait = error.retry_after if error.retry_after is not None else 2.0**attempt
            time.sleep(min(max_wait, wait))
            attempt += 1
