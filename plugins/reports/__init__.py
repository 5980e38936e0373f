"""Plugin ``reports``: sales, messages and performance reports built from the sections other
plugins contribute (``report_sections``), with every figure from the metrics layer; rendered
as HTML, PDF and CSV with charts; generated on demand, as a job for long periods, or on a
daily, weekly or monthly schedule."""

from __future__ import annotations

from pathlib import Path

from core.config import Setting
from core.hookspecs import hookimpl


def _positive_days(value: str) -> int:
    days = int(value)
    if days < 1:
        raise ValueError(f"{value!r} is not a positive number of days")
    return days


@hookimpl
def plugin_info():
    return {
        "name": "reports",
        "version": "1.0.0",
        "description": "Sales, messages and performance reports, rendered with charts",
        "requires": ["assistant"],
        "nebulo": ">=1.1,<2",
    }


@hookimpl
def register_settings(register):
    register(
        Setting(
            "NEBULO_REPORT_JOB_DAYS",
            92,
            "Reports over more days than this are generated in a background job (202)",
            _positive_days,
        )
    )


@hookimpl
def register_permissions(register):
    register("view_reports", "See reports, their renderings and schedules", min_role="viewer")
    register("generate_reports", "Generate, delete and schedule reports", min_role="operator")


@hookimpl
def register_models(register):
    from plugins.reports import models  # noqa: F401 - adds the tables to Base.metadata

    register(Path(__file__).parent / "migrations")


@hookimpl
def register_blueprints(register):
    from plugins.reports.routes import blp

    register(blp)


@hookimpl
def register_jobs(register):
    from plugins.reports import jobs

    register(jobs.generate_report, retries=1, backoff=(30,))
    register(jobs.run_schedule, retries=2, backoff=(60, 600))


@hookimpl
def register_tools(register):
    from plugins.reports import tools

    register(tools.generate_report)


@hookimpl
def run_periodic(now):
    from core.db import database
    from plugins.reports.schedules import start_due_schedules

    with database().session_scope() as session:
        start_due_schedules(session, now)


@hookimpl
def load_demo(project, session):
    from plugins.reports.demo import load_demo_reports

    load_demo_reports(session, project)
