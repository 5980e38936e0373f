"""The ANN index (usearch) behind the index interface: same answers as exact search on
clustered faces, changes through its overlay, saved and memory-mapped, rebuilt from the
database when its file is lost; the gallery switches to it by size."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pytest

from plugins.persons import services
from plugins.persons.ann import OVERLAY_MIN, AnnIndex, Saved
from plugins.persons.index import ExactIndex
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


def test_the_gallery_switches_to_the_graph_by_size_and_rebuilds_it_after_a_restart(
    make_app, tmp_path
):
    app = ann_app(make_app, tmp_path)
    client = app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    project = api.project(owner)
    camera = Camera(client, project["id"], owner)
    first = [camera.detected(face(seed))["id"] for seed in (1, 2)]
    assert isinstance(gallery_index(app, project["id"]), ExactIndex)
    camera.detected(face(3))
    camera.detected(face(4))  # its search sees 3 vectors: the project gets its graph
    assert isinstance(gallery_index(app, project["id"]), AnnIndex)
    again = camera.detected(seen_again(face(1)))
    assert again["matched"] is True and again["id"] == first[0]
    assert client.delete(f"{camera.url}/{first[1]}", headers=owner).status_code == 204
    assert camera.detected(face(2))["matched"] is False

    restarted = ann_app(make_app, tmp_path)  # loads the saved graph, catches up from it
    other = Camera(restarted.test_client(), project["id"], owner)
    assert other.detected(seen_again(face(4), seed=3))["matched"] is True
    assert other.detected(seen_again(face(1), seed=4))["id"] == first[0]
    assert isinstance(gallery_index(restarted, project["id"]), AnnIndex)

    for path in tmp_path.rglob("*"):  # the file is lost: the database is the source of truth
        if path.is_file():
            path.unlink()
    rebuilt = ann_app(make_app, tmp_path)
    third = Camera(rebuilt.test_client(), project["id"], owner)
    assert third.detected(seen_again(face(3), seed=5))["matched"] is True
    assert (tmp_path / project["id"] / "current.json").exists()
