"""The ANN index (usearch) behind the index interface: same answers as exact search on
clustered faces, changes through its overlay, saved and memory-mapped, rebuilt from the
database when its file is lost; the gallery switches to it by size."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select, update

from core.db import utcnow
from core.jobs import Job, wait_for_jobs
from core.plugins import job_name
from plugins.persons import services
from plugins.persons.ann import OVERLAY_MIN, AnnIndex, Saved
from plugins.persons.index import ExactIndex
from plugins.persons.jobs import FAILED_REBUILD_PAUSE, rebuild_index, request_index_rebuild
from plugins.persons.models import IndexBuild
from tests.conftest import ApiClient
from tests.plugins.persons.conftest import Camera, face, seen_again

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def clustered(count: int, seed: int = 0) -> tuple[list[uuid.UUID], np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, 128)).astype(np.float32)
    return [uuid.uuid4() for _ in range(count)], vectors / np.linalg.norm(
        vectors, axis=1, keepdims=True
    )


@pytest.mark.parametrize("dtype", ["i8", "f16"])
def test_the_graph_finds_what_exact_search_finds(dtype):
    ids, vectors = clustered(3000)
    graph = AnnIndex.build(zip(ids, vectors, strict=True), dtype, threads=1)
    exact = ExactIndex()
    for person_id, vector in zip(ids, vectors, strict=True):
        exact.add(person_id, vector)
    rng = np.random.default_rng(1)
    agree = 0
    for index in rng.choice(len(ids), 200, replace=False):
        query = vectors[index] + rng.normal(scale=0.02, size=128)
        [found] = graph.search(query)
        [truth] = exact.search(query)
        if found.person_id == truth.person_id == ids[index]:
            agree += 1
            assert abs(found.similarity - truth.similarity) < 0.02  # quantised, still close
    assert agree >= 196  # approximate: a rare miss is the price of its speed


def test_changes_after_the_build_go_through_the_overlay():
    ids, vectors = clustered(500)
    graph = AnnIndex.build(zip(ids, vectors, strict=True))
    newcomer, [vector] = uuid.uuid4(), clustered(1, seed=9)[1]
    graph.add(newcomer, vector)
    assert graph.search(vector)[0].person_id == newcomer and len(graph) == 501
    graph.remove(ids[7])
    assert graph.search(vectors[7])[0].person_id != ids[7] and len(graph) == 500
    graph.add(ids[8], vectors[9])  # a person's vector replaced: the old one no longer answers
    assert graph.search(vectors[8])[0].person_id != ids[8]
    assert [m.person_id for m in graph.search(vectors[9], 2)] == [ids[8], ids[9]] or [
        m.person_id for m in graph.search(vectors[9], 2)
    ] == [ids[9], ids[8]]
    assert not graph.stale()
    newcomers, new_vectors = clustered(OVERLAY_MIN, seed=3)
    for person_id, vector in zip(newcomers, new_vectors, strict=True):
        graph.add(person_id, vector)
    assert graph.stale()  # time to rebuild from the database


def test_a_saved_graph_loads_memory_mapped_and_answers_the_same(tmp_path):
    ids, vectors = clustered(2000)
    graph = AnnIndex.build(zip(ids, vectors, strict=True))
    graph.save(tmp_path, Saved(41, NOW))
    graph.save(tmp_path, Saved(42, NOW))  # a newer build replaces the older one
    loaded, saved = AnnIndex.load(tmp_path)
    assert saved == Saved(42, NOW) and len(loaded) == 2000
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1
    for index in (0, 999, 1999):
        assert loaded.search(vectors[index])[0].person_id == ids[index]
    assert loaded.memory_bytes < graph.memory_bytes  # the vectors stay in the mapped file
    loaded.add(ids[0], vectors[1])
    with pytest.raises(ValueError):
        loaded.save(tmp_path, Saved(43, NOW))


def test_a_missing_or_damaged_file_is_not_loaded(tmp_path):
    assert AnnIndex.load(tmp_path) is None
    ids, vectors = clustered(100)
    AnnIndex.build(zip(ids, vectors, strict=True)).save(tmp_path, Saved(1, NOW))
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    (folder / "graph.usearch").write_bytes(b"not a graph")
    assert AnnIndex.load(tmp_path) is None
    (tmp_path / "current.json").write_text("{")
    assert AnnIndex.load(tmp_path) is None


def ann_app(make_app, directory):
    return make_app(
        plugin={"NEBULO_PERSONS_ANN_MIN_VECTORS": 3, "NEBULO_PERSONS_INDEX_DIR": str(directory)}
    )


def gallery_index(app, project_id: str):
    with app.app_context():
        return services.runtime().gallery.index_of(uuid.UUID(project_id))


def rebuild_jobs(app, project_id: str) -> list[Job]:
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        jobs = session.scalars(
            select(Job)
            .where(Job.project_id == uuid.UUID(project_id), Job.name == job_name(rebuild_index))
            .order_by(Job.created_at)
        ).all()
        session.expunge_all()
        return list(jobs)


def test_the_graph_is_built_by_a_background_job_while_exact_search_serves(make_app, tmp_path):
    app = ann_app(make_app, tmp_path)
    api = ApiClient(app.test_client())
    owner = api.user_headers()
    project = api.project(owner)
    camera = Camera(app.test_client(), project["id"], owner)
    first = [camera.detected(face(seed))["id"] for seed in (1, 2)]
    camera.detected(face(3))
    assert rebuild_jobs(app, project["id"]) == []
    camera.detected(face(4))  # its search sees 3 vectors: a graph is due
    assert isinstance(gallery_index(app, project["id"]), ExactIndex)  # not built in the request
    again = camera.detected(seen_again(face(1)))  # served by exact search meanwhile
    assert again["matched"] is True and again["id"] == first[0]
    wait_for_jobs(app, timeout=60)
    [job] = rebuild_jobs(app, project["id"])
    assert job.status == "finished" and job.progress == 100
    assert job.result["vectors"] >= 4
    camera.detected(face(5))  # the next search loads the saved graph and catches up
    assert isinstance(gallery_index(app, project["id"]), AnnIndex)
    again = camera.detected(seen_again(face(1), seed=2))
    assert again["matched"] is True and again["id"] == first[0]
    assert app.test_client().delete(f"{camera.url}/{first[1]}", headers=owner).status_code == 204
    assert camera.detected(face(2))["matched"] is False


def test_several_processes_queue_one_rebuild_and_all_load_its_graph(make_app, tmp_path):
    here, there = ann_app(make_app, tmp_path), ann_app(make_app, tmp_path)
    api = ApiClient(here.test_client())
    owner = api.user_headers()
    project = api.project(owner)
    cameras = [Camera(app.test_client(), project["id"], owner) for app in (here, there)]
    for seed in range(1, 9):  # both past the ANN size, each finding the graph due
        cameras[seed % 2].detected(face(seed))
    wait_for_jobs(here, timeout=60)
    assert len(rebuild_jobs(here, project["id"])) == 1
    for app, camera in zip((here, there), cameras, strict=True):
        assert camera.detected(seen_again(face(7)))["matched"] is True
        assert isinstance(gallery_index(app, project["id"]), AnnIndex)


def test_a_stale_graph_keeps_serving_until_its_successor_is_saved(make_app, tmp_path, monkeypatch):
    monkeypatch.setattr("plugins.persons.ann.OVERLAY_MIN", 2)
    app = ann_app(make_app, tmp_path)
    api = ApiClient(app.test_client())
    owner = api.user_headers()
    project = api.project(owner)
    camera = Camera(app.test_client(), project["id"], owner)
    for seed in range(1, 5):
        camera.detected(face(seed))
    wait_for_jobs(app, timeout=60)
    camera.detected(face(5))
    graph = gallery_index(app, project["id"])
    assert isinstance(graph, AnnIndex) and not graph.stale()
    newcomers = [camera.detected(face(seed))["id"] for seed in (6, 7, 8)]  # 3 in the overlay
    assert graph.stale() and len(rebuild_jobs(app, project["id"])) == 2
    assert gallery_index(app, project["id"]) is graph  # the old graph and its overlay serve
    assert camera.detected(seen_again(face(7)))["id"] == newcomers[1]
    wait_for_jobs(app, timeout=60)
    assert camera.detected(seen_again(face(6)))["id"] == newcomers[0]
    successor = gallery_index(app, project["id"])
    assert successor is not graph and not successor.stale()


def test_after_a_restart_the_saved_graph_is_loaded_and_a_lost_one_rebuilt(make_app, tmp_path):
    app = ann_app(make_app, tmp_path)
    api = ApiClient(app.test_client())
    owner = api.user_headers()
    project = api.project(owner)
    camera = Camera(app.test_client(), project["id"], owner)
    first = [camera.detected(face(seed))["id"] for seed in (1, 2, 3, 4)]
    wait_for_jobs(app, timeout=60)

    restarted = ann_app(make_app, tmp_path)  # loads the saved graph, catches up from it
    other = Camera(restarted.test_client(), project["id"], owner)
    assert other.detected(seen_again(face(4), seed=3))["id"] == first[3]
    assert isinstance(gallery_index(restarted, project["id"]), AnnIndex)

    for path in tmp_path.rglob("*"):  # the file is lost: the database is the source of truth
        if path.is_file():
            path.unlink()
    rebuilt = ann_app(make_app, tmp_path)
    third = Camera(rebuilt.test_client(), project["id"], owner)
    assert third.detected(seen_again(face(3), seed=5))["id"] == first[2]  # exact meanwhile
    assert isinstance(gallery_index(rebuilt, project["id"]), ExactIndex)
    wait_for_jobs(rebuilt, timeout=60)
    assert (tmp_path / project["id"] / "current.json").exists()
    assert third.detected(seen_again(face(2), seed=6))["id"] == first[1]
    assert isinstance(gallery_index(rebuilt, project["id"]), AnnIndex)


def test_a_failed_rebuild_is_not_queued_again_at_once(make_app, tmp_path, project):
    app = ann_app(make_app, tmp_path)
    project_id = uuid.UUID(project["id"])
    database = app.extensions["nebulo"].db
    with app.test_request_context():
        with database.session_scope() as session:
            first = request_index_rebuild(session, project_id)
        with database.session_scope() as session:
            session.execute(update(Job).where(Job.id == first).values(status="failed"))
        with database.session_scope() as session:
            assert request_index_rebuild(session, project_id) is None
            session.execute(
                update(IndexBuild).values(requested_at=utcnow() - FAILED_REBUILD_PAUSE * 2)
            )
            second = request_index_rebuild(session, project_id)
    assert second not in (None, first)
    wait_for_jobs(app, timeout=60)
