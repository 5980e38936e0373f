"""Face vectors computed on the server from a camera's image (optional extra ``vision``):
dlib's 128-d face embedding of the largest face, through ``face_recognition``."""

from __future__ import annotations

import io
from typing import Any

from core.errors import Invalid

INSTALL = (
    "Computing a face vector from an image needs the optional extra 'vision': "
    "pip install 'nebulo-ops[vision]' && pip install --no-deps 'face_recognition>=1.3'. "
    "Or send the 128-number vector with the image."
)
MAX_PIXELS = 16_000_000
"""Larger images are refused before decoding (a small file may decode to a huge bitmap)."""


def _library() -> Any:
    try:
        import face_recognition
    except ImportError:
        raise Invalid(INSTALL, errors={"vector": [INSTALL]}) from None
    return face_recognition


def available() -> bool:
    """Whether the extra is installed (the tests that need it skip otherwise)."""
    try:
        _library()
    except Invalid:
        return False
    return True


def face_vector(image: bytes) -> list[float]:
    """The embedding of the largest face in ``image`` (JPEG, PNG or WebP); a 422 naming the
    image when it holds no face or cannot be decoded, or saying what to install."""
    library = _library()
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(image)) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise Invalid(errors={"image": [f"The image has more than {MAX_PIXELS} pixels."]})
            pixels = np.asarray(opened.convert("RGB"))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise Invalid(errors={"image": ["The image cannot be decoded."]}) from None
    faces = library.face_locations(pixels)
    if not faces:
        raise Invalid(errors={"image": ["No face was found in the image."]})
    top, right, bottom, left = max(faces, key=lambda box: (box[2] - box[0]) * (box[1] - box[3]))
    [encoding] = library.face_encodings(pixels, [(top, right, bottom, left)])
    return [float(number) for number in encoding]
