"""Detections of one new face arriving at the same moment make one person, not several."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.plugins.persons.conftest import face, seen_again

CAMERAS = 6


def test_the_same_new_face_seen_by_several_cameras_at_once_is_one_person(
    app, camera, persons_url, owner
):
    vectors = [seen_again(face(1), seed=seed) for seed in range(CAMERAS)]

    def detect(vector):
        return app.test_client().post(camera.url, json={"vector": vector}, headers=camera.headers)

    with ThreadPoolExecutor(CAMERAS) as pool:
        responses = list(pool.map(detect, vectors))
    assert [r.status_code for r in responses] == [201] * CAMERAS, [r.get_json() for r in responses]
    results = [r.get_json() for r in responses]
    assert len({result["id"] for result in results}) == 1
    assert sorted(result["matched"] for result in results) == [False] + [True] * (CAMERAS - 1)
    client = app.test_client()
    assert client.get(persons_url, headers=owner).get_json()["count"] == 1
