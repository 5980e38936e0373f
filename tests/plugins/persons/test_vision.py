"""Faces from images (optional extra ``vision``): a camera sends a photograph without a
vector and the server computes dlib's embedding. Tested on real photographs that ship with
scikit-image: the astronaut (Eileen Collins) and a face of its LFW subset."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from plugins.persons import vision

needs_vision = pytest.mark.skipif(
    not vision.available(), reason="the optional extra 'vision' is not installed"
)


def jpeg(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def astronaut(scale: float = 1.0) -> bytes:
    from skimage import data, transform

    pixels = data.astronaut()
    if scale != 1.0:
        pixels = transform.rescale(pixels, scale, channel_axis=2, anti_aliasing=True)
        pixels = (pixels * 255).astype(np.uint8)
    return jpeg(pixels)


def another_face() -> bytes:
    """A man's face from scikit-image's LFW subset, enlarged so that dlib finds it."""
    from skimage import data, transform

    gray = (transform.resize(data.lfw_subset()[7], (200, 200)) * 255).astype(np.uint8)
    return jpeg(np.stack([gray] * 3, axis=-1))


def send(client, camera, image: bytes, **fields):
    return client.post(
        camera.url,
        data={**fields, "image": (io.BytesIO(image), "frame.jpg")},
        headers=camera.headers,
        content_type="multipart/form-data",
    )


@needs_vision
def test_the_same_face_resized_matches_and_another_face_does_not(client, camera, persons_url):
    first = send(client, camera, astronaut())
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["matched"] is False
    again = send(client, camera, astronaut(scale=0.6)).get_json()
    assert again["matched"] is True and again["id"] == first.get_json()["id"]
    assert again["similarity"] > 0.98
    other = send(client, camera, another_face()).get_json()
    assert other["matched"] is False and other["id"] != first.get_json()["id"]


@needs_vision
def test_the_computed_vector_is_stored_as_a_biometric(client, camera, persons_url, owner):
    person = send(client, camera, astronaut(scale=0.8)).get_json()
    stored = client.get(f"{persons_url}/{person['id']}/biometrics", headers=owner).get_json()
    assert len(stored["vector"]) == 128 and stored["image_url"]


@needs_vision
def test_an_image_without_a_face_is_refused(client, camera):
    from skimage import data

    response = send(client, camera, jpeg(data.coffee()))
    assert response.status_code == 422
    assert response.get_json()["errors"]["image"] == ["No face was found in the image."]


def test_without_the_extra_the_answer_says_what_to_install(
    client, camera, persons_url, owner, monkeypatch
):
    monkeypatch.setitem(sys.modules, "face_recognition", None)  # as if it were not installed
    response = send(client, camera, b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    assert response.status_code == 422
    body = response.get_json()
    assert "pip install 'nebulo-ops[vision]'" in body["detail"]
    assert "--no-deps 'face_recognition" in body["errors"]["vector"][0]
    assert client.get(persons_url, headers=owner).get_json()["count"] == 0  # nothing stored


def test_a_form_without_vector_or_image_is_refused(client, camera):
    response = client.post(
        camera.url, data={"age": "30"}, headers=camera.headers, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "vector" in response.get_json()["errors"]
