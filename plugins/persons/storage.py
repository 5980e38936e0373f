"""Where face images live: a small storage interface and a directory implementation.

Images are checked by their content (magic bytes), never by the name or type a client sends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from core.errors import Invalid

JPEG_MAGIC, PNG_MAGIC = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def image_extension(data: bytes, max_bytes: int) -> str:
    """The extension of a JPEG, PNG or WebP image, or a 422 saying what is wrong."""
    if len(data) > max_bytes:
        raise Invalid(errors={"image": [f"The image is larger than {max_bytes} bytes."]})
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(JPEG_MAGIC):
        return "jpg"
    if data.startswith(PNG_MAGIC):
        return "png"
    raise Invalid(errors={"image": ["The image must be a JPEG, PNG or WebP file."]})


class ImageStorage(Protocol):
    def save(self, key: str, data: bytes) -> None: ...

    def load(self, key: str) -> bytes | None: ...

    def delete(self, key: str) -> None: ...


class DirectoryStorage:
    """Images as files under one directory (``<instance>/persons-images`` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key {key!r} leaves the storage directory")
        return path

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".part")
        temporary.write_bytes(data)
        temporary.replace(path)

    def load(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.exists() else None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
