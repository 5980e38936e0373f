"""The caller's side: record a job and hand it to the workers, now or once the caller's
session commits; wait for the jobs to be done."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event as orm_event
from sqlalchemy import update
from sqlalchemy.orm import Session, SessionTransaction

from core.db import utcnow
from core.errors import ServiceUnavailable
from core.jobs.models import Job
from core.plugins import JobSpec, job_name

log = logging.getLogger(__name__)

PENDING_DISPATCH_KEY = "nebulo_jobs_to_dispatch"


class UnknownJob(LookupError):
    """``enqueue`` was given a function that no plugin registered as a job."""


def enqueue(
    fn: Callable[..., Any],
    *args: Any,
    project_id: uuid.UUID | str | None = None,
    user_id: uuid.UUID | str | None = None,
    session: Session | None = None,
    **kwargs: Any,
) -> uuid.UUID:
    """Record a job for ``fn(run, *args, **kwargs)`` and hand it to the workers; returns its id.

    Without ``session`` the job is committed in its own transaction before it is dispatched,
    so a caller whose own session holds rows the job needs must commit first. With
    ``session`` the job row joins the caller's transaction (one commit for both) and is
    dispatched once that session commits; if it rolls back, nothing is queued. A dispatch
    that fails after the commit cannot be undone: the job is recorded as failed and logged.
    Arguments must be JSON values (pass UUIDs, dates and amounts as strings).
    """
    state = current_app.extensions["nebulo"]
    spec = job_spec(state.registry.jobs, fn)
    try:
        json.dumps([args, kwargs])
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"arguments of job {spec.name} must be JSON values (pass UUIDs as str): {error}"
        ) from None
    job = Job(
        id=uuid.uuid4(),
        project_id=_as_uuid(project_id),
        created_by=_as_uuid(user_id),
        name=spec.name,
        args=list(args),
        kwargs=kwargs,
        max_attempts=spec.retries + 1,
    )
    if session is not None:
        session.add(job)
        session.info.setdefault(PENDING_DISPATCH_KEY, []).append((state, job.id))
        return job.id
    with state.db.session_scope() as own_session:
        own_session.add(job)
    if not _dispatch(state, job.id):
        raise ServiceUnavailable("The job queue is unavailable; try again later")
    return job.id


def _dispatch(state: Any, job_id: uuid.UUID) -> bool:
    """Hand a committed job to the workers; if that fails, record it failed. Whether it went."""
    try:
        state.jobs.dispatch(job_id)
    except Exception as error:  # noqa: BLE001 - recorded on the job and logged
        log.exception("job %s could not be dispatched", job_id)
        with state.db.session_scope() as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued")
                .values(status="failed", ended_at=utcnow(), error=f"Could not be queued: {error}")
            )
        return False
    return True


@orm_event.listens_for(Session, "after_commit")
def _dispatch_committed(session: Session) -> None:
    for state, job_id in session.info.pop(PENDING_DISPATCH_KEY, ()):
        _dispatch(state, job_id)


@orm_event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    """Jobs still waiting when the outermost transaction ends were rolled back with it."""
    if transaction.parent is None:
        session.info.pop(PENDING_DISPATCH_KEY, None)


def job_spec(jobs: dict[str, JobSpec], fn: Callable[..., Any]) -> JobSpec:
    name = job_name(fn) if callable(fn) else str(fn)
    try:
        return jobs[name]
    except KeyError:
        raise UnknownJob(
            f"{name} is not a registered job: a plugin registers it with register_jobs "
            "(core modules list it in core.app.CORE_JOBS)"
        ) from None


def wait_for_jobs(app: Flask, timeout: float = 30.0) -> None:
    """Block until no job is queued, scheduled for retry or running (tests, CLI).

    Embedded: waits for the in-process pool. Redis: works the queue in this process with the
    same app until it is empty. Raises ``TimeoutError`` if jobs remain after ``timeout``.
    """
    app.extensions["nebulo"].jobs.wait(timeout)


def _as_uuid(value: uuid.UUID | str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))
