"""Helpers for the persons plugin's tests: faces as vectors, cameras as API keys."""

from __future__ import annotations

import numpy as np
import pytest

from plugins.persons import services
from plugins.persons.storage import DirectoryStorage

FACE_SIZE = 128
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64


def face(seed: int) -> list[float]:
    """A random unit vector: two different seeds are nearly orthogonal faces."""
    vector = np.random.default_rng(seed).normal(size=FACE_SIZE)
    return (vector / np.linalg.norm(vector)).tolist()


def seen_again(vector: list[float], noise: float = 0.05, seed: int = 0) -> list[float]:
    """The same face seen by another camera: a little noise, still very similar."""
    jitter = np.random.default_rng(seed).normal(scale=noise / np.sqrt(FACE_SIZE), size=FACE_SIZE)
    return (np.asarray(vector) + jitter).tolist()


class Camera:
    """Sends detections to one project's persons endpoint."""

    def __init__(self, client, project_id: str, headers: dict[str, str]):
        self.client, self.headers = client, headers
        self.url = f"/api/v1/persons/{project_id}"

    def detect(self, vector, **fields):
        return self.client.post(self.url, json={"vector": vector, **fields}, headers=self.headers)

    def detected(self, vector, **fields) -> dict:
        response = self.detect(vector, **fields)
        assert response.status_code == 201, response.get_json()
        return response.get_json()


def api_key(client, project_id: str, owner: dict[str, str], scopes: list[str]) -> dict[str, str]:
    response = client.post(
        f"/api/v1/projects/{project_id}/api-keys",
        json={"name": "door camera", "scopes": scopes},
        headers=owner,
    )
    assert response.status_code == 201, response.get_json()
    return {"X-API-Key": response.get_json()["key"]}


@pytest.fixture
def camera(client, project, owner) -> Camera:
    """A camera of ``project`` with an API key holding the ``persons`` scope only."""
    return Camera(client, project["id"], api_key(client, project["id"], owner, ["persons"]))


@pytest.fixture
def persons_url(project) -> str:
    return f"/api/v1/persons/{project['id']}"


@pytest.fixture(autouse=True)
def _images_in_tmp_path(app, tmp_path):
    """Face images of a test go to its own directory, never to the checkout's instance/."""
    with app.app_context():
        services.runtime().storage = DirectoryStorage(tmp_path / "persons-images")
    yield
