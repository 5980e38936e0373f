"""Biometric data: its own permission, erasure, retention."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.cli import cli
from core.db import utcnow
from core.jobs import Job, enqueue, wait_for_jobs
from plugins.persons import jobs, services
from plugins.persons.models import GalleryChange
from tests.plugins.persons.conftest import PNG, Camera, face, seen_again


@pytest.fixture
def with_image(client, camera) -> dict:
    response = client.post(
        camera.url,
        data={"vector": json.dumps(face(1)), "image": (io.BytesIO(PNG), "f.png")},
        headers=camera.headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    return response.get_json()


def _member(client, api, project, owner, role: str) -> dict[str, str]:
    user = api.register()
    response = client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"email": user["email"], "role": role},
        headers=owner,
    )
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {api.login(user['email'])['access_token']}"}


def test_vectors_and_images_need_the_biometrics_permission(
    client, api, project, owner, persons_url, with_image
):
    url = f"{persons_url}/{with_image['id']}"
    viewer = _member(client, api, project, owner, "viewer")
    assert client.get(url, headers=viewer).status_code == 200
    assert client.get(f"{url}/biometrics", headers=viewer).status_code == 403
    assert client.get(f"{url}/image", headers=viewer).status_code == 403
    biometrics = client.get(f"{url}/biometrics", headers=owner).get_json()
    assert biometrics["vector"] == pytest.approx(face(1), abs=1e-6)
    assert biometrics["image_url"] == f"{url}/image"


def test_images_are_served_to_authenticated_members_only(client, api, persons_url, with_image):
    url = f"{persons_url}/{with_image['id']}/image"
    assert client.get(url).status_code == 401
    stranger = api.user_headers()
    assert client.get(url, headers=stranger).status_code == 404


def test_erasing_a_person_removes_vector_image_and_index_entry(
    app, client, camera, persons_url, owner, with_image
):
    url = f"{persons_url}/{with_image['id']}"
    assert client.delete(url, headers=owner).status_code == 204
    assert client.get(url, headers=owner).status_code == 404
    assert client.get(f"{url}/image", headers=owner).status_code == 404
    assert client.delete(url, headers=owner).status_code == 404
    with app.app_context():
        assert list(services.runtime().storage.root.rglob("*.png")) == []
    again = camera.detected(seen_again(face(1)))
    assert again["matched"] is False and again["id"] != with_image["id"]


def test_the_retention_job_erases_old_vectors_and_images_but_keeps_visits(
    app, client, camera, persons_url, owner, with_image
):
    url = f"{persons_url}/{with_image['id']}"
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        assert services.purge_expired_biometrics(session, now=utcnow() + timedelta(days=29)) == 0
        assert services.purge_expired_biometrics(session, now=utcnow() + timedelta(days=31)) == 1
    person = client.get(url, headers=owner).get_json()
    assert person["has_biometrics"] is False
    assert client.get(f"{url}/biometrics", headers=owner).get_json() == {
        "person_id": with_image["id"],
        "vector": None,
        "image_url": None,
    }
    assert client.get(f"{url}/image", headers=owner).status_code == 404
    assert client.get(f"{url}/summary", headers=owner).get_json()["total_visits"] == 1
    assert camera.detected(face(1))["matched"] is False


def test_the_retention_job_runs_as_a_registered_job(app, camera):
    camera.detected(face(1))
    with app.app_context():
        job_id = enqueue(jobs.purge_expired_biometrics)
    wait_for_jobs(app)
    with app.extensions["nebulo"].db.session_scope() as session:
        job = session.get(Job, job_id)
        assert job.status == "finished" and job.result == {"erased": 0, "pruned_changes": 0}


def test_old_gallery_changes_are_pruned_and_a_new_process_still_matches(
    app, make_app, client, camera, owner
):
    person = camera.detected(face(1))
    camera.detected(face(2))
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        assert services.prune_gallery_changes(session, now=utcnow() + timedelta(days=6)) == 0
        assert services.prune_gallery_changes(session, now=utcnow() + timedelta(days=8)) == 2
        session.commit()
        assert session.scalar(select(func.count()).select_from(GalleryChange)) == 0
    other = Camera(make_app().test_client(), camera.url.rsplit("/", 1)[1], owner)
    assert other.detected(seen_again(face(1)))["id"] == person["id"]


def test_the_purge_command_queues_the_retention_job(app, camera):
    camera.detected(face(1))
    result = app.test_cli_runner().invoke(cli=cli, args=["persons", "purge-biometrics"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Queued job ")
    wait_for_jobs(app)
    with app.extensions["nebulo"].db.session_scope() as session:
        job = session.get(Job, uuid.UUID(result.output.split()[-1]))
        assert job.status == "finished"
