"""Background jobs of the analytics plugin: fitting forecasts and segmenting customers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.jobs import JobRun, enqueue
from plugins.analytics import sales, segments


def fit_sales_forecast(run: JobRun, project_id: str) -> dict[str, Any]:
    """Choose, fit and store the project's sales forecast."""
    with run.session() as session:
        ctx = sales.system_context(uuid.UUID(project_id))
        row = sales.fit_sales_forecast(session, ctx, run.progress)
        return sales.describe(session, row)


def refit_stale_forecasts(run: JobRun) -> dict[str, Any]:
    """Refit every forecast that orders made stale (or that has not seen yesterday): the
    debounced end of ``on_event``, run by cron through ``nebulo analytics refit``. A project
    whose refit fails (say its orders were deleted) is reported and the others go on."""
    with run.session() as session:
        projects = sales.stale_projects(session)
    refitted, failed = [], {}
    for position, project_id in enumerate(projects):
        run.progress(100 * position // len(projects), f"refitting {position + 1}/{len(projects)}")
        try:
            with run.session() as session:
                sales.fit_sales_forecast(session, sales.system_context(project_id))
        except Exception as error:  # noqa: BLE001 - one project's failure is its own
            failed[str(project_id)] = str(error)
        else:
            refitted.append(str(project_id))
    return {"refitted": refitted, "failed": failed}


def segment_customers(
    run: JobRun, project_id: str, algorithm: str, clusters: int | None = None
) -> dict[str, Any]:
    """Segment the project's customers and store the run."""
    with run.session() as session:
        ctx = sales.system_context(uuid.UUID(project_id))
        result = segments.run_segmentation(session, ctx, algorithm, clusters, run.progress)
        return segments.run_summary(session, result)


def queue_stale_refits(session: Session, now: datetime) -> int:
    """The periodic tick's share: queue a refit of each stale forecast that is due, each
    claimed and queued in ``session``'s transaction so it starts once whatever the number of
    workers ticking. Returns how many were queued."""
    projects = sales.claim_stale_refits(session, now)
    for project_id in projects:
        enqueue(fit_sales_forecast, str(project_id), project_id=project_id, session=session)
    return len(projects)
