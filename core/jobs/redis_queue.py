"""Jobs with Redis: job ids on an rq queue, run by ``nebulo worker`` processes."""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import timedelta
from typing import Any

import redis
import rq
from flask import Flask
from rq.timeouts import TimerDeathPenalty

from core.jobs.maintenance import maintain_jobs, maintenance_interval

# An rq entry names the function its worker calls. This path (core.jobs re-exports it) is the one
# entries had when core.jobs was a single module, so that while a deployment upgrades, workers
# of either version run what the other queued.
RUN_JOB = "core.jobs.run_job"


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
            self.queue.enqueue_in(timedelta(seconds=delay), RUN_JOB, str(job_id), **options)
        else:
            self.queue.enqueue(RUN_JOB, str(job_id), **options)

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
