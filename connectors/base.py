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
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from core.errors import Invalid

ORDER_UPSERT = "order_upsert"
INBOUND_MESSAGE = "inbound_message"
DELIVERY_STATUS = "delivery_status"
IGNORED = "ignored"
EVENT_KINDS = (ORDER_UPSERT, INBOUND_MESSAGE, DELIVERY_STATUS, IGNORED)
DELIVERY_STATUSES = ("sent", "delivered", "read", "failed")
REQUEST_TIMEOUT_SECONDS = 15.0

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
    customer {external_id, name, email, phone} and items [{name, sku, quantity, price}].
    ``inbound_message``: provider_message_id, content, sender {phone | chat_id, name}, sent_at.
    ``delivery_status``: provider_message_id, status (sent, delivered, read, failed), error.
    ``ignored``: reason.
    """

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")


@dataclass(frozen=True)
class Delivery:
    """One parsed webhook delivery: the provider's id for it (retries share it), its events."""

    delivery_id: str
    topic: str
    events: list[NormalizedEvent]


@dataclass(frozen=True)
class SentMessage:
    provider_message_id: str


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
    which turns the provider's failures into :class:`ProviderError`.
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
            self._client = httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One HTTP call; network failures and 5xx/429 are retryable ``ProviderError``. A
        failure after the request went out (no answer, connection dropped) is also
        ``outcome_unknown``: the provider may have acted on it."""
        try:
            response = self.client.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise ProviderError(
                f"{self.provider} is unreachable: {error}", retryable=True
            ) from None
        except httpx.TimeoutException:
            raise ProviderError(
                f"{self.provider} did not answer in time", retryable=True, outcome_unknown=True
            ) from None
        except httpx.HTTPError as error:
            raise ProviderError(
                f"{self.provider} dropped the call: {error}", retryable=True, outcome_unknown=True
            ) from None
        if response.status_code >= 400:
            raise self.error_from_response(response)
        return response

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        """The provider's error body as a ``ProviderError``; subclasses read their own shape."""
        return ProviderError(
            response.text[:500] or response.reason_phrase,
            status=response.status_code,
            retryable=response.status_code == 429 or response.status_code >= 500,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )


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
