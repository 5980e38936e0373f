"""Running one job: claim its row, keep its lease while the function runs, record the outcome
or schedule the retry."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import update
from sqlalchemy.orm import Session

from core.db import utcnow
from core.jobs.models import MAX_MESSAGE_LENGTH, Job, own_running_row
from core.schemas import plain_json

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 2000


@dataclass(frozen=True)
class JobRun:
    """What a job function receives first: its ids, the app, progress reporting, sessions."""

    job_id: uuid.UUID
    project_id: uuid.UUID | None
    app: Flask
    attempt: int

    def progress(self, percent: int, message: str = "") -> None:
        """Record progress now, in its own transaction, so that ``GET /jobs/<id>`` sees it."""
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise ValueError(f"progress must be an integer from 0 to 100, not {percent!r}")
        state = self.app.extensions["nebulo"]
        with state.db.session_scope() as session:
            session.execute(
                own_running_row(self.job_id, self.attempt).values(
                    progress=percent,
                    message=message[:MAX_MESSAGE_LENGTH],
                    lease_until=utcnow() + timedelta(seconds=state.settings.job_lease_seconds),
                )
            )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed when the block succeeds and rolled back when it raises."""
        with self.app.extensions["nebulo"].db.session_scope() as session:
            yield session


def run_job(job_id: str) -> None:
    """Run one job inside the current app context; what workers call for every dispatched id.

    Never raises for the job's own failures: they are recorded on the row (and retried when
    the job declared retries), so the queue itself always sees a finished task.
    """
    app = current_app._get_current_object()
    state = app.extensions["nebulo"]
    job_uuid = uuid.UUID(job_id)
    with state.db.session_scope() as session:
        job = session.get(Job, job_uuid)
        if job is None or job.status != "queued":
            return
        spec = state.registry.jobs.get(job.name)
        if spec is None:
            job.status, job.ended_at = "failed", utcnow()
            job.error = f"{job.name} is not a registered job in this worker (is its plugin loaded?)"
            return
        attempt = job.attempts + 1
        now = utcnow()
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_uuid, Job.status == "queued", Job.attempts == job.attempts)
            .values(
                status="running",
                attempts=attempt,
                progress=0,
                message="",
                started_at=now,
                ended_at=None,
                lease_until=now + timedelta(seconds=state.settings.job_lease_seconds),
            )
        ).rowcount
        args, kwargs, project_id, max_attempts = (
            job.args,
            job.kwargs,
            job.project_id,
            job.max_attempts,
        )
    if not claimed:
        return
    run = JobRun(job_uuid, project_id, app, attempt)
    try:
        with _lease_kept(state, job_uuid, attempt):
            result = plain_json(spec.function(run, *args, **kwargs), "the job's result")
    except Exception as error:  # noqa: BLE001 - the job's failure is recorded, not raised
        message = (str(error) or type(error).__name__)[:MAX_ERROR_LENGTH]
        log.warning(
            "job %s (%s) attempt %d failed: %s",
            job_uuid,
            spec.name,
            attempt,
            message,
            exc_info=True,
        )
        if attempt < max_attempts:
            delay = spec.backoff[min(attempt - 1, len(spec.backoff) - 1)] if spec.backoff else 0
            _retry_later(state, job_uuid, attempt, message, delay)
        else:
            _finish(state, job_uuid, attempt, status="failed", error=message)
        return
    _finish(state, job_uuid, attempt, status="finished", result=result, progress=100, error=None)


def _finish(state: Any, job_id: uuid.UUID, attempt: int, **values: Any) -> None:
    """Record the outcome, unless the attempt lost the row meanwhile (its lease expired)."""
    with state.db.session_scope() as session:
        session.execute(
            own_running_row(job_id, attempt).values(ended_at=utcnow(), lease_until=None, **values)
        )


def _retry_later(state: Any, job_id: uuid.UUID, attempt: int, error: str, delay: float) -> None:
    with state.db.session_scope() as session:
        rows = session.execute(
            own_running_row(job_id, attempt).values(
                status="queued", error=error, message=f"retrying in {delay:g} s", lease_until=None
            )
        ).rowcount
    if rows:
        state.jobs.dispatch(job_id, delay=delay)


@contextmanager
def _lease_kept(state: Any, job_id: uuid.UUID, attempt: int) -> Iterator[None]:
    """Renew the job's lease from a side thread while the block runs, for at most
    ``job_timeout_seconds``: a job that hangs past it loses its lease, and the recovery step
    retries or fails it (a thread cannot be killed; whatever it does later is ignored)."""
    seconds = state.settings.job_lease_seconds
    deadline = time.monotonic() + state.settings.job_timeout_seconds
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(seconds / 3):
            if time.monotonic() >= deadline:
                log.warning("job %s ran past its timeout; its lease will expire", job_id)
                return
            try:
                with state.db.session_scope() as session:
                    session.execute(
                        own_running_row(job_id, attempt).values(
                            lease_until=utcnow() + timedelta(seconds=seconds)
                        )
                    )
            except Exception:  # noqa: BLE001 - a missed renewal is retried at the next tick
                log.warning("could not renew the lease of job %s", job_id, exc_info=True)

    thread = threading.Thread(target=renew, name=f"nebulo-lease-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
