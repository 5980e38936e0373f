"""Background jobs on both stacks: in-process threads (SQLite) and rq workers (PostgreSQL+Redis)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from core.cli import worker as worker_command
from core.db import utcnow
from core.jobs import Job, UnknownJob, enqueue, wait_for_jobs
from core.jobs.maintenance import recover_expired_jobs
from core.plugins import job_name
from tests.conftest import ApiClient
from tests.core import jobplugin

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def jobs_app(make_app):
    return make_app(extra_plugins=[("jobtest", jobplugin)])


@pytest.fixture
def jobs_api(jobs_app) -> ApiClient:
    return ApiClient(jobs_app.test_client())


@pytest.fixture
def member(jobs_api) -> dict:
    """A user with a project: their headers, user id and project id."""
    headers = jobs_api.user_headers()
    user_id = jobs_api.client.get("/api/v1/auth/me", headers=headers).get_json()["id"]
    return {"headers": headers, "user_id": user_id, "project_id": jobs_api.project(headers)["id"]}


def submit(app, fn, *args, **kwargs) -> uuid.UUID:
    with app.app_context():
        return enqueue(fn, *args, **kwargs)


def get_job(api: ApiClient, job_id, headers):
    return api.client.get(f"/api/v1/jobs/{job_id}", headers=headers)


def test_finished_job_shows_its_result_progress_and_timestamps(jobs_app, jobs_api, member):
    job_id = submit(jobs_app, jobplugin.add, 2, 3, label="x", project_id=member["project_id"])
    wait_for_jobs(jobs_app)
    response = get_job(jobs_api, job_id, member["headers"])
    assert response.status_code == 200
    job = response.get_json()
    assert set(job) == {
        "id", "name", "status", "progress", "message", "result", "error",
        "attempts", "created_at", "started_at", "ended_at",
    }  # fmt: skip
    assert job["id"] == str(job_id)
    assert job["name"] == "tests.core.jobplugin:add"
    assert (job["status"], job["progress"], job["message"]) == ("finished", 100, "adding")
    assert job["result"] == {"sum": 5, "label": "x", "project_id": member["project_id"]}
    assert job["error"] is None and job["attempts"] == 1
    assert job["created_at"] <= job["started_at"] <= job["ended_at"]


def test_job_that_raises_ends_failed_with_its_error_message(jobs_app, jobs_api, member):
    job_id = submit(
        jobs_app, jobplugin.explode, "the printer is on fire", project_id=member["project_id"]
    )
    wait_for_jobs(jobs_app)
    job = get_job(jobs_api, job_id, member["headers"]).get_json()
    assert (job["status"], job["error"], job["attempts"]) == ("failed", "the printer is on fire", 1)
    assert job["result"] is None and job["ended_at"] is not None
    assert "Traceback" not in str(job)


def test_job_reporting_progress_out_of_range_fails_with_a_clear_error(jobs_app, jobs_api, member):
    job_id = submit(jobs_app, jobplugin.overshoot, project_id=member["project_id"])
    wait_for_jobs(jobs_app)
    job = get_job(jobs_api, job_id, member["headers"]).get_json()
    assert job["status"] == "failed"
    assert job["error"] == "progress must be an integer from 0 to 100, not 150"


def test_job_with_retries_succeeds_after_a_failed_attempt(jobs_app, jobs_api, member):
    job_id = submit(jobs_app, jobplugin.flaky, 1, project_id=member["project_id"])
    wait_for_jobs(jobs_app)
    job = get_job(jobs_api, job_id, member["headers"]).get_json()
    assert (job["status"], job["attempts"], job["result"]) == ("finished", 2, {"attempt": 2})
    assert job["error"] is None


def test_job_whose_retries_are_exhausted_ends_failed_with_the_last_error(
    jobs_app, jobs_api, member
):
    job_id = submit(jobs_app, jobplugin.always_failing, project_id=member["project_id"])
    wait_for_jobs(jobs_app)
    job = get_job(jobs_api, job_id, member["headers"]).get_json()
    assert (job["status"], job["attempts"], job["error"]) == ("failed", 2, "attempt 2 failed")


def test_job_writes_through_its_session(jobs_app, jobs_api, member):
    submit(jobs_app, jobplugin.rename_project, "Renamed by a job", project_id=member["project_id"])
    wait_for_jobs(jobs_app)
    project = jobs_api.client.get(
        f"/api/v1/projects/{member['project_id']}", headers=member["headers"]
    )
    assert project.get_json()["name"] == "Renamed by a job"


def test_unregistered_function_or_non_json_arguments_are_rejected_without_a_row(jobs_app, member):
    with pytest.raises(
        UnknownJob, match="tests.core.jobplugin:not_registered is not a registered job"
    ):
        submit(jobs_app, jobplugin.not_registered, project_id=member["project_id"])
    with pytest.raises(TypeError, match="must be JSON values"):
        submit(jobs_app, jobplugin.add, uuid.uuid4(), 1, project_id=member["project_id"])
    with jobs_app.extensions["nebulo"].db.session_scope() as session:
        assert session.query(Job).filter_by(project_id=uuid.UUID(member["project_id"])).count() == 0


def test_progress_is_visible_while_the_job_runs(jobs_app, jobs_api, member):
    jobplugin.release.clear()
    job_id = submit(jobs_app, jobplugin.wait_for_release, project_id=member["project_id"])
    waiter = threading.Thread(target=wait_for_jobs, args=(jobs_app,))
    waiter.start()
    try:
        deadline = time.monotonic() + 15
        job = get_job(jobs_api, job_id, member["headers"]).get_json()
        while job["progress"] != 40 and time.monotonic() < deadline:
            time.sleep(0.05)
            job = get_job(jobs_api, job_id, member["headers"]).get_json()
        assert (job["status"], job["progress"], job["message"]) == (
            "running",
            40,
            "waiting for the test",
        )
        assert job["started_at"] is not None and job["ended_at"] is None
    finally:
        jobplugin.release.set()
        waiter.join(30)
    job = get_job(jobs_api, job_id, member["headers"]).get_json()
    assert (job["status"], job["result"]) == ("finished", "released")


def test_job_is_hidden_from_other_projects_and_bad_ids_are_rejected(jobs_app, jobs_api, member):
    job_id = submit(jobs_app, jobplugin.add, 1, 1, project_id=member["project_id"])
    wait_for_jobs(jobs_app)
    stranger = jobs_api.user_headers()
    jobs_api.project(stranger, "Another store")
    response = get_job(jobs_api, job_id, stranger)
    assert response.status_code == 404
    assert set(response.get_json()) == {"detail", "code", "timestamp"}
    assert get_job(jobs_api, uuid.uuid4(), member["headers"]).status_code == 404
    assert get_job(jobs_api, "not-a-uuid", member["headers"]).status_code == 400
    assert get_job(jobs_api, job_id, {}).status_code == 401
    assert get_job(jobs_api, uuid.uuid4(), {}).status_code == 401, "anonymous learns nothing"


def test_job_without_project_is_visible_only_to_its_creator(jobs_app, jobs_api, member):
    job_id = submit(jobs_app, jobplugin.add, 1, 1, user_id=member["user_id"])
    wait_for_jobs(jobs_app)
    assert get_job(jobs_api, job_id, member["headers"]).get_json()["status"] == "finished"
    assert get_job(jobs_api, job_id, jobs_api.user_headers()).status_code == 404


def test_deleting_the_project_deletes_its_jobs(jobs_app, jobs_api, member):
    job_id = submit(jobs_app, jobplugin.add, 1, 1, project_id=member["project_id"])
    wait_for_jobs(jobs_app)
    deleted = jobs_api.client.delete(
        f"/api/v1/projects/{member['project_id']}", headers=member["headers"]
    )
    assert deleted.status_code == 204
    with jobs_app.extensions["nebulo"].db.session_scope() as session:
        assert session.get(Job, job_id) is None


def test_jobs_whose_worker_was_lost_are_retried_or_failed(jobs_app, jobs_api, member):
    """Rows left 'running' by a killed worker: an expired lease means the worker is gone."""
    now = utcnow()

    def lost_row(args: list[int], max_attempts: int, lease: timedelta) -> Job:
        return Job(
            name=job_name(jobplugin.add),
            args=args,
            kwargs={},
            status="running",
            attempts=1,
            max_attempts=max_attempts,
            project_id=uuid.UUID(member["project_id"]),
            started_at=now - timedelta(minutes=10),
            lease_until=now + lease,
        )

    retried = lost_row([4, 5], max_attempts=2, lease=timedelta(seconds=-1))
    failed = lost_row([1, 1], max_attempts=1, lease=timedelta(seconds=-1))
    alive = lost_row([1, 1], max_attempts=1, lease=timedelta(minutes=5))
    with jobs_app.extensions["nebulo"].db.session_scope() as session:
        session.add_all([retried, failed, alive])

    # another app's maintenance may recover some of these rows first; the outcome is the same
    assert recover_expired_jobs(jobs_app) <= 2
    wait_for_jobs(jobs_app)

    job = get_job(jobs_api, retried.id, member["headers"]).get_json()
    assert (job["status"], job["attempts"], job["result"]["sum"]) == ("finished", 2, 9)
    job = get_job(jobs_api, failed.id, member["headers"]).get_json()
    assert job["status"] == "failed"
    assert job["error"].startswith("The job's worker stopped, or the job ran past")
    assert get_job(jobs_api, alive.id, member["headers"]).get_json()["status"] == "running"
    assert recover_expired_jobs(jobs_app) == 0


def test_job_running_past_its_timeout_is_failed_and_its_late_result_ignored(make_app, api):
    timed = make_app(
        extra_plugins=[("jobtest", jobplugin)], job_timeout_seconds=1, job_lease_seconds=1
    )
    timed_api = ApiClient(timed.test_client())
    headers = timed_api.user_headers()
    project = timed_api.project(headers)
    jobplugin.release.clear()
    job_id = submit(timed, jobplugin.wait_for_release, project_id=project["id"])
    worker = threading.Thread(target=wait_for_jobs, args=(timed, 60))
    worker.start()  # rq: a worker in this process (its timer stops the job); embedded: the pool
    try:
        deadline = time.monotonic() + 30
        while get_job(timed_api, job_id, headers).get_json()["status"] != "failed":
            assert time.monotonic() < deadline, "the hung job was never failed"
            recover_expired_jobs(timed)
            time.sleep(0.2)
    finally:
        jobplugin.release.set()  # a hung function that returns now must not count
        worker.join()
    job = get_job(timed_api, job_id, headers).get_json()
    assert job["status"] == "failed" and "timeout" in job["error"].lower()
    assert job["result"] is None


def test_nebulo_worker_process_runs_jobs_enqueued_by_the_app(stack, jobs_app, jobs_api, member):
    if stack.redis_url is None:
        result = jobs_app.test_cli_runner().invoke(worker_command, ["--burst"])
        assert result.exit_code != 0 and "REDIS_URL is not set" in result.output
        return
    job_id = submit(jobs_app, jobplugin.add, 20, 22, project_id=member["project_id"])
    settings = jobs_app.extensions["nebulo"].settings
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "NEBULO_ENV": "testing",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "NEBULO_REDIS_NAMESPACE": settings.redis_namespace,
        "NEBULO_SECRET_KEY": settings.secret_key,
    }
    script = (
        "from core import cli\n"
        "from core.app import create_app\n"
        "from tests.core import jobplugin\n"
        "cli.cli.create_app = lambda: create_app(extra_plugins=[('jobtest', jobplugin)])\n"
        "cli.cli(['worker', '--burst'])\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    job = get_job(jobs_api, job_id, member["headers"]).get_json()
    assert (job["status"], job["result"]["sum"]) == ("finished", 42)
