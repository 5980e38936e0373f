"""Jobs without Redis: a thread pool in the process that enqueues them, or in a child process
of the web server."""

from __future__ import annotations

import atexit
import dataclasses
import heapq
import itertools
import logging
import multiprocessing
import os
import queue
import threading
import time
import uuid
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from core.jobs.maintenance import maintain_jobs, maintenance_interval
from core.jobs.models import Job
from core.jobs.running import run_job

log = logging.getLogger(__name__)


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
                    due = f", the next due in {self._due[0][0] - time.monotonic():.1f} s"
                    raise TimeoutError(
                        f"{waiting} job(s) waiting{due if waiting else ''} and {running} "
                        f"running after {timeout:g} s"
                    )
                self._condition.wait(remaining)

    def forget_waiting(self) -> None:
        """Drop the jobs waiting in this process (due retries included); their rows stay as
        they are, and the next process resumes the queued ones. For a test suite that empties
        the database between cases, so one case's pending retry is not waited for by the next."""
        with self._condition:
            self._due.clear()
            self._condition.notify_all()

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
