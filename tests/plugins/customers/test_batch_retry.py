"""A retried batch prediction resumes: one risk point per customer and batch, never two."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from core.db import utcnow
from core.jobs import wait_for_jobs
from core.plugins import job_name
from plugins.customers import jobs, predictions
from plugins.customers.models import RiskHistory
from tests.plugins.customers.conftest import customers_url


class WorkerKilled(Exception):
    """Stands for the worker dying mid-batch: what the attempt had not committed is lost."""


@pytest.fixture
def immediate_batch_retry(app):
    registry = app.extensions["nebulo"].registry.jobs
    name = job_name(jobs.predict_customers)
    original = registry[name]
    registry[name] = dataclasses.replace(original, backoff=(0,))
    yield
    registry[name] = original


def points_per_customer(app, batch_job_id: uuid.UUID) -> dict[uuid.UUID, int]:
    with app.extensions["nebulo"].db.session_scope() as session:
        return dict(
            session.execute(
                select(RiskHistory.customer_id, func.count())
                .where(RiskHistory.batch_job_id == batch_job_id)
                .group_by(RiskHistory.customer_id)
            ).all()
        )


def test_batch_killed_after_some_chunks_resumes_with_one_point_per_customer(
    app, trained, client, owner, project, monkeypatch, immediate_batch_retry
):
    monkeypatch.setattr(predictions, "SCORING_CHUNK", 100)
    record_chunk = predictions._record_chunk
    recorded = []

    def dies_at_the_third_chunk(session, *args, **kwargs):
        recorded.append(len(args[2]))
        if len(recorded) == 3:
            raise WorkerKilled("the worker was killed")
        record_chunk(session, *args, **kwargs)

    monkeypatch.setattr(predictions, "_record_chunk", dies_at_the_third_chunk)
    response = client.post(customers_url(project, "/predict/batch"), json={}, headers=owner)
    assert response.status_code == 202, response.get_json()
    job_id = uuid.UUID(response.get_json()["job_id"])
    wait_for_jobs(app, timeout=120)

    job = client.get(f"/api/v1/jobs/{job_id}", headers=owner).get_json()
    assert (job["status"], job["attempts"]) == ("finished", 2), job
    assert job["result"]["scored"] == len(trained)
    points = points_per_customer(app, job_id)
    assert set(points) == {uuid.UUID(value) for value in trained}
    assert set(points.values()) == {1}
    # the retry scored only what the lost attempt had not committed (two chunks of 100)
    assert sum(recorded) == 3 * 100 + (len(trained) - 200)
    with app.extensions["nebulo"].db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(RiskHistory)) == len(trained)


def test_a_batch_run_again_adds_no_point_and_the_key_refuses_a_second_one(app, trained, project):
    project_id = uuid.UUID(project["id"])
    batch = uuid.uuid4()
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        first = predictions.predict_customers(session, project_id, batch_job_id=batch)
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        again = predictions.predict_customers(session, project_id, batch_job_id=batch)
    assert first["scored"] == again["scored"] == len(trained)
    assert set(points_per_customer(app, batch).values()) == {1}

    duplicate = {
        "project_id": project_id,
        "customer_id": uuid.UUID(trained[0]),
        "score": 0.5,
        "timestamp": utcnow(),
        "batch_job_id": batch,
    }
    with (
        pytest.raises(sa.exc.IntegrityError),
        app.extensions["nebulo"].db.session_scope() as session,
    ):
        session.execute(sa.insert(RiskHistory), [duplicate])
    # single predictions belong to no batch: any number of them
    with app.extensions["nebulo"].db.session_scope() as session:
        session.execute(sa.insert(RiskHistory), [{**duplicate, "batch_job_id": None}] * 2)
