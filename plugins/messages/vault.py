"""Integration secrets: AES-GCM encryption at rest and the ``****-key`` masking of responses.

The key is ``NEBULO_ENCRYPTION_KEY`` (32 bytes, URL-safe base64). Outside production it may
be left unset and is then derived from ``NEBULO_SECRET_KEY`` with HKDF. Each ciphertext is
bound to its integration's id (associated data), so secrets cannot be moved between rows.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import uuid
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.config import Settings
from core.errors import ServiceUnavailable

NONCE_BYTES = 12


def parse_key(value: str) -> bytes:
    """Setting parser: 32 bytes of URL-safe base64 (``Fernet.generate_key()`` makes one)."""
    try:
        key = base64.urlsafe_b64decode(value.strip().encode())
    except (binascii.Error, ValueError):
        raise ValueError("not URL-safe base64") from None
    if len(key) != 32:
        raise ValueError("must decode to 32 bytes")
    return key


def encryption_key(settings: Settings) -> bytes:
    key = settings.get("NEBULO_ENCRYPTION_KEY")
    if key:
        return key
    if settings.is_production:
        raise ServiceUnavailable(
            "NEBULO_ENCRYPTION_KEY is not set; production needs it to store integration secrets"
        )
    return _derived_key(settings.secret_key)


@functools.lru_cache(maxsize=8)
def _derived_key(secret_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"nebulo integrations")
    return hkdf.derive(secret_key.encode())


def encrypt(settings: Settings, integration_id: uuid.UUID, secrets: dict[str, Any]) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(secrets).encode()
    return nonce + AESGCM(encryption_key(settings)).encrypt(nonce, plaintext, integration_id.bytes)


def decrypt(settings: Settings, integration_id: uuid.UUID, blob: bytes) -> dict[str, Any]:
    return json.loads(_plaintext(encryption_key(settings), integration_id, blob))


@functools.lru_cache(maxsize=1024)
def _plaintext(key: bytes, integration_id: uuid.UUID, blob: bytes) -> bytes:
    """Cached: every webhook reads its integration's secret. A new key or blob is a new entry,
    and a failure is not cached."""
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], integration_id.bytes)
    except InvalidTag:
        raise ServiceUnavailable(
            "This integration's secrets cannot be decrypted (was NEBULO_ENCRYPTION_KEY changed?)"
        ) from None


MASK = "****"
MASK_SHOWS_FROM_LENGTH = 12


def mask(value: str) -> str:
    """``shpat_a1b2c3d4`` -> ``****c3d4``: the last 4 characters, enough to tell two secrets
    apart, and nothing of a secret shorter than 12, where 4 would be a third of it."""
    if len(value) < MASK_SHOWS_FROM_LENGTH:
        return MASK
    return MASK + value[-4:]
