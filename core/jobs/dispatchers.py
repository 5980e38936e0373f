"""Which dispatcher hands an app's job ids to its workers, and starting it for a web server."""

from __future__ import annotations

import uuid
from typing import Protocol

from flask import Flask
from sqlalchemy.engine import make_url

from core.jobs.embedded import ChildProcessDispatcher, EmbeddedDispatcher
from core.jobs.redis_queue import RqDispatcher


class Dispatcher(Protocol):
    """What ``app.extensions["nebulo"].jobs`` is: it hands committed job ids to the workers."""

    def dispatch(self, job_id: uuid.UUID, delay: float = 0.0) -> None: ...

    def start(self) -> None: ...

    def wait(self, timeout: float) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


def build_dispatcher(app: Flask) -> Dispatcher:
    """The rq queue when Redis is configured, else the in-process pool (see :func:`serve_jobs`)."""
    settings = app.extensions["nebulo"].settings
    if settings.uses_redis:
        return RqDispatcher(app)
    return EmbeddedDispatcher(app, settings.job_workers)


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
