"""A camera's detections: new persons, returning ones, and what is refused."""

from __future__ import annotations

import io
import json

from tests.plugins.persons.conftest import JPEG, PNG, WEBP, Camera, api_key, face, seen_again


def test_a_new_face_creates_a_person_with_a_first_visit(camera):
    created = camera.detected(
        face(1), age=25, gender="Female", emotion="Happy", body_type="Normal",
        entry_time="2026-11-01T10:00:00Z", exit_time="2026-11-01T11:00:00Z",
    )  # fmt: skip
    assert created["matched"] is False and created["similarity"] is None
    assert created["gender"] == "Female" and created["age"] == 25
    assert created["entry_time"] == "2026-11-01T10:00:00Z"
    assert created["visit"]["returning"] is False
    assert "vector" not in created and "image" not in created


def test_the_same_face_again_is_a_new_visit_of_the_known_person(camera):
    first = camera.detected(face(1))
    again = camera.detected(seen_again(face(1)), emotion="Neutral")
    assert again["matched"] is True
    assert again["id"] == first["id"]
    assert again["similarity"] > 0.9
    assert again["visit"]["returning"] is True and again["visit"]["id"] != first["visit"]["id"]
    assert again["emotion"] == "Neutral"


def test_a_different_face_is_a_different_person(camera):
    first = camera.detected(face(1))
    other = camera.detected(face(2))
    assert other["matched"] is False and other["id"] != first["id"]


def test_the_match_threshold_is_a_setting(make_app):
    app = make_app(plugin={"NEBULO_PERSONS_MATCH_THRESHOLD": 0.999})
    client = app.test_client()
    from tests.conftest import ApiClient

    api = ApiClient(client)
    owner = api.user_headers()
    project = api.project(owner)
    strict = Camera(client, project["id"], owner)
    first = strict.detected(face(1))
    again = strict.detected(seen_again(face(1), noise=0.3))
    assert again["matched"] is False and again["id"] != first["id"]


def test_faces_are_never_compared_across_projects(client, api, owner, camera):
    camera.detected(face(1))
    other_project = api.project(owner, name="Other store")
    elsewhere = Camera(client, other_project["id"], owner).detected(face(1))
    assert elsewhere["matched"] is False


def test_the_vector_may_come_as_the_seeds_json_encoded_string(camera):
    created = camera.detected(json.dumps(face(3)))
    assert created["matched"] is False
    assert camera.detected(face(3))["id"] == created["id"]


def test_a_multipart_detection_stores_the_image(client, camera, owner):
    response = client.post(
        camera.url,
        data={"vector": json.dumps(face(4)), "age": "31", "image": (io.BytesIO(PNG), "x.png")},
        headers=camera.headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    person = response.get_json()
    assert person["age"] == 31
    image = client.get(f"{camera.url}/{person['id']}/image", headers=owner)
    assert image.status_code == 200
    assert image.data == PNG and image.mimetype == "image/png"


def test_jpeg_and_webp_images_are_accepted(client, camera):
    for seed, content in ((5, JPEG), (6, WEBP)):
        response = client.post(
            camera.url,
            data={"vector": json.dumps(face(seed)), "image": (io.BytesIO(content), "face.bin")},
            headers=camera.headers,
            content_type="multipart/form-data",
        )
        assert response.status_code == 201, response.get_json()


def _refused(response, field: str) -> str:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == "VALIDATION_ERROR"
    return " ".join(body["errors"][field])


def test_a_vector_of_the_wrong_length_is_refused(camera, persons_url, client, owner):
    assert "exactly 128" in _refused(camera.detect(face(1)[:127]), "vector")
    assert "exactly 128" in _refused(camera.detect([*face(1), 0.5]), "vector")
    assert client.get(persons_url, headers=owner).get_json()["count"] == 0


def test_nan_infinity_and_non_numbers_are_refused(camera):
    vector = face(1)
    body = json.dumps({"vector": vector}).replace(str(vector[0]), "NaN", 1)
    response = camera.client.post(
        camera.url, data=body, headers=camera.headers, content_type="application/json"
    )
    assert "finite" in _refused(response, "vector")
    as_string = json.dumps([float("inf"), *vector[1:]])
    assert "finite" in _refused(camera.detect(as_string), "vector")
    assert "numbers" in _refused(camera.detect(["a", *vector[1:]]), "vector")
    assert "JSON array" in _refused(camera.detect("[0.1, 0.2"), "vector")
    assert "zeros" in _refused(camera.detect([0.0] * 128), "vector")
    assert "between" in _refused(camera.detect([1e300, *vector[1:]]), "vector")


def test_an_image_that_is_not_jpeg_png_or_webp_is_refused(client, camera, persons_url, owner):
    response = client.post(
        camera.url,
        data={
            "vector": json.dumps(face(1)),
            "image": (io.BytesIO(b"GIF89a" + b"\0" * 20), "a.png"),
        },
        headers=camera.headers,
        content_type="multipart/form-data",
    )
    assert "JPEG, PNG or WebP" in _refused(response, "image")
    assert client.get(persons_url, headers=owner).get_json()["count"] == 0


def test_an_oversized_image_is_refused(make_app):
    from tests.conftest import ApiClient

    app = make_app(plugin={"NEBULO_PERSONS_MAX_IMAGE_BYTES": 100})
    client = app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    project = api.project(owner)
    response = client.post(
        f"/api/v1/persons/{project['id']}",
        data={"vector": json.dumps(face(1)), "image": (io.BytesIO(PNG + b"\0" * 100), "a.png")},
        headers=owner,
        content_type="multipart/form-data",
    )
    assert "larger than 100 bytes" in _refused(response, "image")
    assert client.get(f"/api/v1/persons/{project['id']}", headers=owner).get_json()["count"] == 0


def test_unknown_fields_and_files_are_refused(client, camera):
    assert _refused(camera.detect(face(1), colour="red"), "colour")
    response = client.post(
        camera.url,
        data={"vector": json.dumps(face(1)), "other": (io.BytesIO(PNG), "a.png")},
        headers=camera.headers,
        content_type="multipart/form-data",
    )
    assert _refused(response, "other")


def test_exit_before_entry_and_bad_ages_are_refused(camera):
    response = camera.detect(
        face(1), entry_time="2026-11-01T10:00:00Z", exit_time="2026-11-01T09:00:00Z"
    )
    assert _refused(response, "exit_time")
    assert _refused(camera.detect(face(1), age=-1), "age")


def test_a_camera_key_without_the_persons_scope_is_forbidden(client, project, owner):
    headers = api_key(client, project["id"], owner, ["view_persons"])
    response = Camera(client, project["id"], headers).detect(face(1))
    assert response.status_code == 403
    assert "'persons'" in response.get_json()["detail"]


def test_a_camera_key_cannot_read_persons(client, camera, persons_url):
    assert client.get(persons_url, headers=camera.headers).status_code == 403


def test_a_camera_key_of_another_project_sees_no_project(client, api, owner, camera):
    other = api.project(owner, name="Other")
    response = Camera(client, other["id"], camera.headers).detect(face(1))
    assert response.status_code == 404
