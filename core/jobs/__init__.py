"""Background jobs: ``enqueue(fn, *args)`` and the workers that run them.

The ``jobs`` table is the source of truth for a job's status, progress, result and error;
the queues only carry job ids. With ``REDIS_URL`` the ids go to an rq queue that any number
of ``nebulo worker`` processes consume; without it a thread pool runs them, in a child process
of the web server or in the process that enqueued them. Either way a worker calls
:func:`run_job`, which claims the row atomically (a job dispatched twice runs once), keeps a
lease on it while the function runs, and records the outcome. A worker that dies mid-job
leaves a row whose lease expires, and Redis restarted without persistence loses the queued
ids: the periodic maintenance puts both back.

The modules, by topic:

- :mod:`core.jobs.models`: the ``jobs`` table (:class:`Job`).
- :mod:`core.jobs.queueing`: :func:`enqueue`, dispatch after commit, :func:`wait_for_jobs`.
- :mod:`core.jobs.running`: :func:`run_job` and the :class:`JobRun` a job function receives.
- :mod:`core.jobs.maintenance`: lease recovery, lost-job re-queueing, the maintenance tick.
- :mod:`core.jobs.dispatchers`: which dispatcher an app uses, and starting it for a server.
- :mod:`core.jobs.embedded`: the thread pool, in process or in a child process (no Redis).
- :mod:`core.jobs.redis_queue`: the rq queue and the ``nebulo worker`` processes.

This package exports what plugins use; the rest is imported from its module.
"""

from core.jobs.models import STATUSES, Job
from core.jobs.queueing import UnknownJob, enqueue, job_spec, wait_for_jobs
from core.jobs.running import JobRun, run_job

__all__ = [
    "STATUSES",
    "Job",
    "JobRun",
    "UnknownJob",
    "enqueue",
    "job_spec",
    "run_job",
    "wait_for_jobs",
]
