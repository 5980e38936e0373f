"""A throw-away plugin whose jobs exercise the job runner (loaded with make_app(extra_plugins))."""

from __future__ import annotations

import threading

from core.hookspecs import hookimpl
from core.jobs import JobRun
from core.projects.models import Project

release = threading.Event()


def add(run: JobRun, a: int, b: int, label: str = "") -> dict:
    run.progress(50, "adding")
    return {"sum": a + b, "label": label, "project_id": run.project_id}


def explode(run: JobRun, reason: str) -> None:
    raise RuntimeError(reason)


def flaky(run: JobRun, failures: int) -> dict:
    if run.attempt <= failures:
        raise ConnectionError(f"attempt {run.attempt} failed")
    return {"attempt": run.attempt}


def always_failing(run: JobRun) -> None:
    raise ConnectionError(f"attempt {run.attempt} failed")


def overshoot(run: JobRun) -> None:
    run.progress(150)


def wait_for_release(run: JobRun) -> str:
    run.progress(40, "waiting for the test")
    if not release.wait(20):
        raise TimeoutError("the test never released the job")
    return "released"


def rename_project(run: JobRun, name: str) -> None:
    with run.session() as session:
        session.get(Project, run.project_id).name = name


def not_registered(run: JobRun) -> None:
    """Deliberately left out of register_jobs."""


@hookimpl
def plugin_info():
    return {"name": "jobtest", "version": "1.0", "description": "Jobs for the job runner tests"}


@hookimpl
def register_jobs(register):
    for job in (add, explode, overshoot, wait_for_release, rename_project):
        register(job)
    register(flaky, retries=2, backoff=(0.05, 0.1))
    register(always_failing, retries=1, backoff=(0.05,))
