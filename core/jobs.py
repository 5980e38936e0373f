"""Background jobs: ``enqueue(fn, *args)`` and the workers that run them.

The ``jobs`` table is the source of truth for a job's status, progress, result and error;
the queues only carry job ids. With ``REDIS_URL`` the ids go to an rq queue that any number
of ``nebulo worker`` processes consume; without it a thread pool runs them, in a child process
of the web server (:class:`ChildProcessDispatcher`) or in the process that enqueued them.
Either way a worker calls :func:`run_job`, which claims the row atomically (a job dispatched
twice runs once), keeps a lease on it while the function runs, and records the outcome.
A worker that dies mid-job leaves a row whose lease expires: :func:`recover_expired_jobs`
re-queues it while attempts remain, else fails it. Redis restarted without persistence loses
the queued ids: :func:`requeue_lost_jobs` puts back what the table says is queued and rq no
longer holds. Both run in :func:`maintain_jobs`, when workers start and then every
:func:`maintenance_interval` (a third of the lease), so a lost job waits about one lease.
"""

from __future__ import annotations

import atexit
import dataclasses
import heapq
import itertools
import json
import logging
import multiprocessing
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import redis
import rq
from flask import Flask, current_app
from rq.timeouts import TimerDeathPenalty
from sqlalchemy import JSON, ForeignKey, String, Text, func, select, update
from sqlalchemy import event as orm_event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from core.db import Base, utcnow
from core.errors import ServiceUnavailable
from core.plugins import JobSpec, job_name
from core.scheduler import run_periodic_tasks
from core.schemas import plain_json

log = logging.getLogger(__name__)

STATUSES = ("queued", "running", "finished", "failed")
MAX_MESSAGE_LENGTH = 500
MAX_ERROR_LENGTH = 2000
MAX_MAINTENANCE_INTERVAL = 60.0
PENDING_DISPATCH_KEY = "nebulo_jobs_to_dispatch"


class UnknownJob(LookupError):
    """``enqueue`` was given a function that no plugin registered as a job."""


class Job(Base):
    """One background job: what to run, and where it stands."""

    __tablename__ = "jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    args: Mapped[list] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(String(MAX_MESSAGE_LENGTH), default="")
    result: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]


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
                _own_running_row(self.job_id, self.attempt).values(
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
                _own_running_row(job_id, attempts).where(Job.lease_until < now).values(**values)
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


def wait_for_jobs(app: Flask, timeout: float = 30.0) -> None:
    """Block until no job is queued, scheduled for retry or running (tests, CLI).

    Embedded: waits for the in-process pool. Redis: works the queue in this process with the
    same app until it is empty. Raises ``TimeoutError`` if jobs remain after ``timeout``.
    """
    app.extensions["nebulo"].jobs.wait(timeout)


def _own_running_row(job_id: uuid.UUID, attempt: int):
    """``UPDATE jobs`` limited to the row while this attempt still owns it."""
    return update(Job).where(Job.id == job_id, Job.status == "running", Job.attempts == attempt)


def _finish(state: Any, job_id: uuid.UUID, attempt: int, **values: Any) -> None:
    """Record the outcome, unless the attempt lost the row meanwhile (its lease expired)."""
    with state.db.session_scope() as session:
        session.execute(
            _own_running_row(job_id, attempt).values(ended_at=utcnow(), lease_until=None, **values)
        )


def _retry_later(state: Any, job_id: uuid.UUID, attempt: int, error: str, delay: float) -> None:
    with state.db.session_scope() as session:
        rows = session.execute(
            _own_running_row(job_id, attempt).values(
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
                        _own_running_row(job_id, attempt).values(
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


def _as_uuid(value: uuid.UUID | str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


class Dispatcher(Protocol):
    def dispatch(self, job_id: uuid.UUID, delay: float = 0.0) -> None: ...

    def start(self) -> None: ...

    def wait(self, timeout: float) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


def build_dispatcher(app: Flask) -> Dispatcher:
    settings = app.extensions["nebulo"].settings
    if settings.uses_redis:
        return RqDispatcher(app)
    return EmbeddedDispatcher(app, settings.job_workers)


class EmbeddedDispatcher:
    """A pool of ``job_workers`` threads with a due-time heap for delayed retries.

    Threads start with the first dispatch; at start (and then periodically) the pool recovers
    jobs a previous process left running and runs the queued jobs it left behind.
    """

    def __init__(self, app: Flask, workers: int):
        self.app = app
        self.workers = max(1, workers)
        self._condition = threading.Condition()
        self._due: list[tuple[float, int, uuid.UUID]] = []
        self._order = itertools.count()
        self._running = 0
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    def dispatch(self, job_id: uuid.UUID, delay: float = 0.0) -> None:
        with self._condition:
            if self._stopping.is_set():
                raise RuntimeError("the in-process job worker has stopped")
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), job_id))
            self._start()
            self._condition.notify()

    def start(self) -> None:
        """Start the pool now rather than at the first dispatch (``nebulo serve`` does), so that
        jobs an earlier process left behind are recovered even if nothing is enqueued."""
        with self._condition:
            self._start()

    def _start(self) -> None:
        if self._threads or self._stopping.is_set():
            return
        for index in range(self.workers):
            self._threads.append(
                threading.Thread(target=self._work, name=f"nebulo-job-{index}", daemon=True)
            )
        self._threads.append(
            threading.Thread(target=self._maintain, name="nebulo-job-maintenance", daemon=True)
        )
        for thread in self._threads:
            thread.start()
        atexit.register(self.stop)

    def _next_job(self) -> uuid.UUID | None:
        with self._condition:
            while not self._stopping.is_set():
                now = time.monotonic()
                if self._due and self._due[0][0] <= now:
                    self._running += 1
                    return heapq.heappop(self._due)[2]
                self._condition.wait(self._due[0][0] - now if self._due else None)
            return None

    def _work(self) -> None:
        while (job_id := self._next_job()) is not None:
            try:
                with self.app.app_context():
                    run_job(str(job_id))
            except Exception:  # noqa: BLE001 - e.g. the database is unreachable; keep the pool alive
                log.exception("job %s could not be run", job_id)
            finally:
                with self._condition:
                    self._running -= 1
                    self._condition.notify_all()

    def _maintain(self) -> None:
        interval = maintenance_interval(self.app.extensions["nebulo"].settings)
        try:
            self._resume_queued()
        except Exception:  # noqa: BLE001
            log.exception("queued jobs could not be resumed")
        while True:
            maintain_jobs(self.app)
            if self._stopping.wait(interval):
                return

    def _resume_queued(self) -> None:
        """Queued rows of jobs this app can run, which an earlier process never got to."""
        known = list(self.app.extensions["nebulo"].registry.jobs)
        with self.app.extensions["nebulo"].db.session_scope() as session:
            queued = session.scalars(
                select(Job.id).where(Job.status == "queued", Job.name.in_(known))
            ).all()
        with self._condition:
            queued = [
                job_id for job_id in queued if job_id not in {entry[2] for entry in self._due}
            ]
            for job_id in queued:
                heapq.heappush(self._due, (time.monotonic(), next(self._order), job_id))
            self._condition.notify_all()

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._due or self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    waiting, running = len(self._due), self._running
                    raise TimeoutError(
                        f"{waiting} job(s) waiting and {running} running after {timeout:g} s"
                    )
                self._condition.wait(remaining)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking jobs; wait up to ``timeout`` for running ones (a job still running after
        that keeps its daemon thread until the process exits, and its lease then expires)."""
        with self._condition:
            self._stopping.set()
            self._condition.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        atexit.unregister(self.stop)


class ChildProcessDispatcher:
    """Embedded mode under a web server: an :class:`EmbeddedDispatcher` in a child process.

    A job's Python code and the requests' would otherwise share one GIL, so a burst of
    background work (processing webhooks, training) slows every request down while the
    machine's other cores sit idle. The web process only forwards job ids; the child (spawned,
    not forked from a threaded server) builds its own app from the same settings, runs the jobs
    with ``job_workers`` threads and does the maintenance. It ends with its parent.
    """

    def __init__(self, app: Flask):
        self.app = app
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._queue: Any = None

    def start(self) -> None:
        with self._lock:
            if self._process is not None and self._process.is_alive():
                return
            context = multiprocessing.get_context("spawn")
            settings = self.app.extensions["nebulo"].settings
            settings = dataclasses.replace(settings, environ=dict(settings.environ))
            self._queue = context.Queue()
            self._process = context.Process(
                target=_run_child_jobs,
                args=(settings, self._queue, os.getpid()),
                name="nebulo-jobs",
                daemon=True,
            )
            self._process.start()
            atexit.register(self.stop)

    def dispatch(self, job_id: uuid.UUID, delay: float = 0.0) -> None:
        self.start()
        self._queue.put((str(job_id), delay))

    def wait(self, timeout: float) -> None:
        """Until no job row is queued or running (the child's state is in the database)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.app.extensions["nebulo"].db.session_scope() as session:
                unfinished = session.scalar(
                    select(func.count()).where(Job.status.in_(("queued", "running")))
                )
            if not unfinished:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{unfinished} job(s) unfinished after {timeout:g} s")
            time.sleep(0.05)

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            process, self._process = self._process, None
            if process is None:
                return
            if process.is_alive():
                self._queue.put(None)
                process.join(timeout)
            if process.is_alive():
                process.terminate()
                process.join(timeout)
            atexit.unregister(self.stop)


def _run_child_jobs(settings: Any, ids: Any, parent_pid: int) -> None:
    """The child's main: an app of its own and a thread pool fed with the parent's job ids."""
    from core.app import create_app

    app = create_app(settings)
    pool = app.extensions["nebulo"].jobs = EmbeddedDispatcher(app, settings.job_workers)
    pool.start()
    while os.getppid() == parent_pid:
        try:
            item = ids.get(timeout=1.0)
        except queue.Empty:
            continue
        if item is None:
            break
        job_id, delay = item
        pool.dispatch(uuid.UUID(job_id), delay)
    pool.stop()


def serve_jobs(app: Flask) -> None:
    """What the web entry points call (``nebulo serve``, ``wsgi.py``): start the workers that
    run this server's jobs. Embedded, they go to a child process (``NEBULO_JOB_PROCESS``) when
    the database is a file a second process can open; with Redis, ``nebulo worker`` runs them."""
    state = app.extensions["nebulo"]
    settings = state.settings
    in_memory = make_url(settings.database_url).database in (None, "", ":memory:")
    if isinstance(state.jobs, EmbeddedDispatcher) and settings.job_process and not in_memory:
        state.jobs = ChildProcessDispatcher(app)
    state.jobs.start()


class RqDispatcher:
    """Job ids on an rq queue named after the Redis namespace; ``nebulo worker`` runs them."""

    def __init__(self, app: Flask):
        settings = app.extensions["nebulo"].settings
        self.app = app
        self.connection = redis.Redis.from_url(settings.redis_url)
        self.queue = rq.Queue(f"{settings.redis_namespace}:jobs", connection=self.connection)

    def start(self) -> None:
        """Nothing to start here: ``nebulo worker`` processes run the jobs."""

    def dispatch(self, job_id: uuid.UUID, delay: float = 0.0) -> None:
        options = {
            "job_timeout": self.app.extensions["nebulo"].settings.job_timeout_seconds,
            "result_ttl": 0,
            "failure_ttl": 7 * 24 * 3600,
        }
        # a fresh rq id per dispatch, prefixed with the job's (see held_job_ids): a retry is
        # dispatched while rq still holds the attempt that failed
        options["job_id"] = f"{job_id}-{uuid.uuid4().hex[:12]}"
        if delay > 0:
            self.queue.enqueue_in(timedelta(seconds=delay), run_job, str(job_id), **options)
        else:
            self.queue.enqueue(run_job, str(job_id), **options)

    def held_job_ids(self) -> set[uuid.UUID]:
        """The jobs rq will hand to a worker: waiting in the queue, being dequeued or scheduled.
        Started ones are left out: their row is ``running`` (its lease covers it) a moment
        later, and rq keeps the entries of dead workers there long after."""
        queue = self.queue
        with self.connection.pipeline(transaction=False) as pipeline:
            pipeline.lrange(queue.key, 0, -1)
            pipeline.lrange(queue.intermediate_queue.key, 0, -1)
            pipeline.zrange(queue.scheduled_job_registry.key, 0, -1)
            listed = pipeline.execute()
        held = set()
        for rq_id in itertools.chain.from_iterable(listed):
            try:
                held.add(uuid.UUID(rq_id[:36].decode()))
            except ValueError:
                continue  # not dispatched by this module
        return held

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            worker = InProcessWorker(self.app, [self.queue], connection=self.connection)
            worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
            pending = self.queue.count + self.queue.scheduled_job_registry.count
            if not pending:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{pending} job(s) still queued or scheduled after {timeout:g} s"
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 5.0) -> None:
        self.connection.close()

    def worker(self, name: str | None = None) -> ForkingWorker:
        """The long-running worker of ``nebulo worker``; it maintains the jobs (see
        :func:`maintain_jobs`) every :func:`maintenance_interval`, idle or busy."""
        interval = max(1, round(maintenance_interval(self.app.extensions["nebulo"].settings)))
        return ForkingWorker(
            self.app,
            [self.queue],
            connection=self.connection,
            name=name,
            maintenance_interval=interval,
            job_monitoring_interval=interval,
        )


class AppWorker:
    """One app per worker process; every job runs in a fresh app context of it."""

    def __init__(self, app: Flask, *args: Any, **kwargs: Any):
        self.app = app
        super().__init__(*args, **kwargs)

    def perform_job(self, job, queue, execution):
        with self.app.app_context():
            return super().perform_job(job, queue, execution)

    @property
    def dequeue_timeout(self) -> int:
        """rq waits ``worker_ttl - 15`` s (about 7 minutes) for a job before its maintenance
        comes round again; wake up for each maintenance tick instead."""
        return max(1, min(super().dequeue_timeout, int(self.maintenance_interval)))

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        maintain_jobs(self.app)


class ForkingWorker(AppWorker, rq.Worker):
    """``nebulo worker``: forks a work horse per job, like ``rq worker``."""

    def maintain_heartbeats(self, job, execution) -> None:
        """Called every ``job_monitoring_interval`` while a work horse runs a job: the
        maintenance keeps its pace even when every worker is busy with long jobs."""
        super().maintain_heartbeats(job, execution)
        if self.should_run_maintenance_tasks:
            self.run_maintenance_tasks()

    def main_work_horse(self, job, queue):
        # the forked child must not reuse the parent's pooled database connections
        self.app.extensions["nebulo"].db.engine.dispose(close=False)
        super().main_work_horse(job, queue)


class InProcessWorker(AppWorker, rq.SimpleWorker):
    """Works the queue in the calling thread (any thread): no signal handlers, timer timeouts."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass
