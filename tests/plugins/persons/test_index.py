"""The vector index: exact search, one gallery per project, and other processes catching up."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from core.context import Context
from core.db import utcnow
from plugins.persons import services
from plugins.persons.index import ExactIndex
from plugins.persons.models import Person, pack_vector, record_change
from tests.plugins.persons.conftest import Camera, face, seen_again


def test_the_exact_index_finds_the_most_similar_vectors():
    index = ExactIndex()
    ids = [uuid.uuid4() for _ in range(3)]
    for seed, person_id in enumerate(ids):
        index.add(person_id, np.asarray(face(seed)))
    best, second = index.search(np.asarray(seen_again(face(1))), k=2)
    assert best.person_id == ids[1] and best.similarity > 0.99
    assert second.similarity < 0.5
    index.remove(ids[1])
    assert index.search(np.asarray(face(1)))[0].person_id != ids[1]
    assert ExactIndex().search(np.asarray(face(1))) == []


def test_the_exact_index_loaded_at_once_answers_like_one_built_row_by_row():
    ids = [uuid.uuid4() for _ in range(5)]
    loaded = ExactIndex.of([(i, np.asarray(face(seed)) * 3) for seed, i in enumerate(ids)])
    assert len(loaded) == 5 and ids[2] in loaded
    loaded.remove(ids[1])  # the last row moves into its place
    loaded.add(ids[1], np.asarray(face(7)))
    for seed, person_id in ((0, ids[0]), (4, ids[4]), (7, ids[1])):
        [best] = loaded.search(np.asarray(seen_again(face(seed))))
        assert best.person_id == person_id and 0.99 < best.similarity <= 1.0 + 1e-6
    assert [m.person_id for m in loaded.search(np.asarray(face(3)), k=9)][0] == ids[3]
    assert len(loaded.search(np.asarray(face(3)), k=9)) == 5


def test_another_process_sees_a_new_person_within_a_second(app, make_app, client, owner, project):
    other_app = make_app()
    here = Camera(client, project["id"], owner)
    there = Camera(other_app.test_client(), project["id"], owner)
    there.detected(face(9))  # the other process builds its index before the person exists
    person = here.detected(face(1))
    started = time.monotonic()
    again = there.detected(seen_again(face(1)))
    assert time.monotonic() - started < 1.0
    assert again["matched"] is True and again["id"] == person["id"]


def test_another_process_forgets_an_erased_person(app, make_app, client, owner, project):
    other_app = make_app()
    there = Camera(other_app.test_client(), project["id"], owner)
    person = there.detected(face(1))
    url = f"/api/v1/persons/{project['id']}/{person['id']}"
    assert client.delete(url, headers=owner).status_code == 204
    assert there.detected(face(1))["matched"] is False


def test_a_restarted_process_rebuilds_its_index_from_the_database(make_app, client, owner, project):
    person = Camera(client, project["id"], owner).detected(face(1))
    restarted = make_app()
    again = Camera(restarted.test_client(), project["id"], owner).detected(seen_again(face(1)))
    assert again["matched"] is True and again["id"] == person["id"]


def test_a_change_committed_after_a_later_one_is_still_applied(app, stack, project):
    if stack.name == "sqlite":
        pytest.skip("SQLite lets one writer at a time: its changes commit in id order")
    ctx = Context(project_id=uuid.UUID(project["id"]), permissions=frozenset({"persons"}))
    database = app.extensions["nebulo"].db
    with app.test_request_context():
        gallery = services.runtime().gallery
        slow, quick = database.sessions(), database.sessions()
        try:
            late = services.record_detection(slow, ctx, {"vector": face(1)})  # not committed yet
            # Detections wait for each other; another writer of the gallery (here a person
            # added directly, as an erasure or the retention job writes) does not.
            early = Person(
                project_id=ctx.project_id, vector=pack_vector(face(2)), biometrics_at=utcnow()
            )
            quick.add(early)
            quick.flush()
            record_change(quick, ctx.project_id, early.id, removed=False)
            quick.commit()
            with database.session_scope() as reader:
                found = gallery.search(reader, ctx.project_id, np.asarray(face(2)))
                assert found[0].person_id == early.id
            slow.commit()
            with database.session_scope() as reader:
                found = gallery.search(reader, ctx.project_id, np.asarray(face(1)))
            assert found[0].person_id == late["id"] and found[0].similarity > 0.99
        finally:
            slow.close()
            quick.close()
