"""The periodic work of every worker, so that no job is lost for good.

A worker that dies mid-job leaves a row whose lease expires: :func:`recover_expired_jobs`
re-queues it while attempts remain, else fails it. Redis restarted without persistence loses
the queued ids: :func:`requeue_lost_jobs` puts back what the table says is queued and rq no
longer holds. Both run in :func:`maintain_jobs`, when workers start and then every
:func:`maintenance_interval` (a third of the lease), so a lost job waits about one lease.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from core.db import utcnow
from core.jobs.models import Job, own_running_row
from core.scheduler import run_periodic_tasks

log = logging.getLogger(__name__)

MAX_MAINTENANCE_INTERVAL = 60.0


def recover_expired_jobs(app: Flask) -> int:
    """Re-queue (attempts left) or fail (none left) running jobs whose worker stopped renewing
    their lease; returns how many rows it changed. Safe to run from several workers at once.
    Only jobs this app has registered are re-queued, so it never dispatches what it cannot run."""
    state = app.extensions["nebulo"]
    now = utcnow()
    with state.db.session_scope() as session:
        expired = session.execute(
            select(Job.id, Job.name, Job.attempts, Job.max_attempts).where(
                Job.status == "running", Job.lease_until < now
            )
        ).all()
    changed = 0
    for job_id, name, attempts, max_attempts in expired:
        lost = (
            "The job's worker stopped, or the job ran past NEBULO_JOB_TIMEOUT_SECONDS, "
            "before it finished (its lease expired)"
        )
        if attempts < max_attempts:
            if name not in state.registry.jobs:
                continue  # left for a worker whose app runs this job
            values = {"status": "queued", "error": lost + "; retrying", "lease_until": None}
        else:
            values = {"status": "failed", "error": lost, "ended_at": now, "lease_until": None}
        with state.db.session_scope() as session:
            rows = session.execute(
                own_running_row(job_id, attempts).where(Job.lease_until < now).values(**values)
            ).rowcount
        if rows and values["status"] == "queued":
            state.jobs.dispatch(job_id)
        changed += rows
    if changed:
        log.warning("recovered %d job(s) whose worker was lost", changed)
    return changed


def requeue_lost_jobs(app: Flask) -> int:
    """Dispatch again the queued jobs the rq queue no longer holds (Redis lost them, e.g.
    restarted without persistence); returns how many. Rows queued within the last
    :func:`dispatch_grace` seconds are left alone: their dispatch after commit may still be
    under way. A re-dispatched row keeps ``lease_until`` that long, so concurrent workers
    re-dispatch it once. Embedded, the pool's queue lives and dies with its process, whose
    restart resumes every queued row: nothing to do."""
    from core.jobs.redis_queue import RqDispatcher  # not at the top: that module imports this one

    state = app.extensions["nebulo"]
    if not isinstance(state.jobs, RqDispatcher):
        return 0
    now = utcnow()
    grace = timedelta(seconds=dispatch_grace(state.settings))
    not_held_by_reconciler = (Job.lease_until.is_(None)) | (Job.lease_until < now)
    with state.db.session_scope() as session:
        waiting = session.execute(
            select(Job.id, Job.attempts).where(
                Job.status == "queued",
                Job.name.in_(list(state.registry.jobs)),
                Job.created_at < now - grace,
                not_held_by_reconciler,
            )
        ).all()
    if not waiting:
        return 0
    held = state.jobs.held_job_ids()
    requeued = 0
    for job_id, attempts in waiting:
        if job_id in held:
            continue
        with state.db.session_scope() as session:
            rows = session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.status == "queued",
                    Job.attempts == attempts,
                    not_held_by_reconciler,
                )
                .values(lease_until=now + grace)
            ).rowcount
        if rows:
            state.jobs.dispatch(job_id)
            requeued += rows
    if requeued:
        log.warning("re-queued %d job(s) that the Redis queue had lost", requeued)
    return requeued


def maintain_jobs(app: Flask) -> None:
    """The periodic work of every worker: recover expired leases, re-queue lost jobs, start what
    the calendar has due (:mod:`core.scheduler`). Each step is logged and retried at the next
    tick when it fails (e.g. the database is unreachable)."""
    for step in (recover_expired_jobs, requeue_lost_jobs, run_periodic_tasks):
        try:
            step(app)
        except Exception:  # noqa: BLE001 - retried at the next tick
            log.exception("job maintenance step %s failed", step.__name__)


def maintenance_interval(settings: Any) -> float:
    """Seconds between two maintenance ticks: a third of the lease (at most
    ``MAX_MAINTENANCE_INTERVAL``), so an expired lease is noticed within about lease + lease/3."""
    return min(MAX_MAINTENANCE_INTERVAL, settings.job_lease_seconds / 3)


def dispatch_grace(settings: Any) -> float:
    """How long a queued row may be missing from Redis before it counts as lost."""
    return max(1.0, maintenance_interval(settings))
