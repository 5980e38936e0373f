"""Job maintenance on its own schedule: expired leases noticed within about one lease, and
jobs that Redis lost (restarted without persistence) queued again from the jobs table."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import rq

from core.db import utcnow
from core.jobs import Job, enqueue, wait_for_jobs
from core.jobs.maintenance import maintenance_interval, requeue_lost_jobs
from core.jobs.redis_queue import RqDispatcher
from core.plugins import job_name
from tests.core import jobplugin

REPO = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2


@pytest.fixture
def short_lease_app(make_app):
    return make_app(extra_plugins=[("jobtest", jobplugin)], job_lease_seconds=LEASE_SECONDS)


@pytest.fixture
def project_id(short_lease_app) -> uuid.UUID:
    from core.projects.models import Project

    with short_lease_app.extensions["nebulo"].db.session_scope() as session:
        project = Project(name="Store")
        session.add(project)
        session.flush()
        return project.id


@contextmanager
def running_workers(app) -> Iterator[None]:
    """The stack's workers running on their own: the embedded pool, or a ``nebulo worker``
    process (with the test plugin and the app's lease) registered with rq."""
    dispatcher = app.extensions["nebulo"].jobs
    if not isinstance(dispatcher, RqDispatcher):
        dispatcher.start()
        yield
        return
    settings = app.extensions["nebulo"].settings
    name = f"test-worker-{uuid.uuid4().hex[:8]}"
    script = (
        "from core import cli\n"
        "from core.app import create_app\n"
        "from tests.core import jobplugin\n"
        "cli.cli.create_app = lambda: create_app(extra_plugins=[('jobtest', jobplugin)])\n"
        f"cli.cli(['worker', '--name', {name!r}])\n"
    )
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "NEBULO_ENV": "testing",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "NEBULO_REDIS_NAMESPACE": settings.redis_namespace,
        "NEBULO_SECRET_KEY": settings.secret_key,
        "NEBULO_JOB_LEASE_SECONDS": str(settings.job_lease_seconds),
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while name not in {w.name for w in rq.Worker.all(queue=dispatcher.queue)}:
            assert worker.poll() is None, worker.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "the worker never registered"
            time.sleep(0.1)
        yield
    finally:
        worker.terminate()
        worker.communicate(timeout=30)


def job_row(app, job_id: uuid.UUID) -> Job:
    with app.extensions["nebulo"].db.session_scope() as session:
        job = session.get(Job, job_id)
        session.expunge(job)
        return job


def wait_until_finished(app, job_ids, seconds: float) -> float:
    """Seconds it took every job to finish; fails after ``seconds``."""
    started = time.monotonic()
    while True:
        rows = [job_row(app, job_id) for job_id in job_ids]
        if all(row.status == "finished" for row in rows):
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, [(r.status, r.error) for r in rows]
        time.sleep(0.1)


def forget_queued_jobs(app) -> None:
    """What a Redis restart without persistence does to rq: its queue, registries and jobs
    are gone (only this test's namespace is touched)."""
    dispatcher = app.extensions["nebulo"].jobs
    client = redis.Redis.from_url(app.extensions["nebulo"].settings.redis_url)
    namespace = app.extensions["nebulo"].settings.redis_namespace
    rq_jobs = [f"rq:job:{rq_id}" for rq_id in dispatcher.queue.get_job_ids()]
    for key in [*client.scan_iter(f"rq:*{namespace}*"), *rq_jobs]:
        client.delete(key)
    assert dispatcher.held_job_ids() == set()


def add_row(project_id: uuid.UUID, **values) -> Job:
    return Job(
        name=job_name(jobplugin.add),
        args=[20, 22],
        kwargs={},
        project_id=project_id,
        **values,
    )


def test_maintenance_interval_is_a_third_of_the_lease_at_most_a_minute(short_lease_app):
    settings = short_lease_app.extensions["nebulo"].settings
    assert maintenance_interval(settings) == pytest.approx(LEASE_SECONDS / 3)
    assert maintenance_interval(type("S", (), {"job_lease_seconds": 300})) == 60.0


def test_job_of_a_dead_worker_is_retried_within_about_one_lease(short_lease_app, project_id):
    """A worker died after its last lease renewal: the workers' own maintenance (nobody calls
    recover here) re-queues the job within lease + lease/3 + a little, and it runs again."""
    app = short_lease_app
    with running_workers(app):
        abandoned = add_row(
            project_id,
            status="running",
            attempts=1,
            max_attempts=2,
            started_at=utcnow(),
            lease_until=utcnow() + timedelta(seconds=LEASE_SECONDS),
        )
        with app.extensions["nebulo"].db.session_scope() as session:
            session.add(abandoned)
        took = wait_until_finished(app, [abandoned.id], seconds=LEASE_SECONDS + 10)
    assert took <= LEASE_SECONDS + 3
    job = job_row(app, abandoned.id)
    assert (job.attempts, job.result["sum"]) == (2, 42)


def test_jobs_lost_by_a_redis_restart_run_once_a_worker_starts(stack, short_lease_app, project_id):
    if stack.redis_url is None:
        pytest.skip("embedded jobs live in their process, whose restart resumes them")
    app = short_lease_app
    with app.app_context():
        lost = [enqueue(jobplugin.add, n, n, project_id=project_id) for n in range(3)]
    forget_queued_jobs(app)
    time.sleep(1.1)  # older than the dispatch grace: no dispatch can still be under way
    with running_workers(app):
        wait_until_finished(app, lost, seconds=15)
        # Lost while the worker runs: the periodic maintenance finds it
        never_dispatched = add_row(project_id, created_at=utcnow() - timedelta(seconds=1))
        with app.extensions["nebulo"].db.session_scope() as session:
            session.add(never_dispatched)
        took = wait_until_finished(app, [never_dispatched.id], seconds=15)
    assert took <= 2 * LEASE_SECONDS + 2
    assert [job_row(app, job_id).attempts for job_id in [*lost, never_dispatched.id]] == [1] * 4


def test_recently_queued_or_still_held_jobs_are_not_queued_twice(stack, short_lease_app):
    if stack.redis_url is None:
        assert requeue_lost_jobs(short_lease_app) == 0
        return
    app = short_lease_app
    with app.app_context():
        held = enqueue(jobplugin.add, 1, 2)
    with app.extensions["nebulo"].db.session_scope() as session:
        old = utcnow() - timedelta(minutes=5)
        session.get(Job, held).created_at = old
        just_committed = add_row(None)  # its dispatch after commit may still be under way
        session.add(just_committed)
        session.flush()
        just_committed_id = str(just_committed.id)
    assert requeue_lost_jobs(app) == 0
    dispatcher = app.extensions["nebulo"].jobs
    # Counted by job, not the queue's length: a job that another test's app still has in flight
    # may land in this stack's queue meanwhile.
    queued = [rq_id.rsplit("-", 1)[0] for rq_id in dispatcher.queue.job_ids]
    assert queued.count(str(held)) == 1 and just_committed_id not in queued
    wait_for_jobs(app)
    assert job_row(app, held).status == "finished"
