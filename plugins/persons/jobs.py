"""Background jobs of the persons plugin: biometric retention and the ANN graph's rebuild."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import upsert_insert, utcnow
from core.jobs import Job, JobRun, enqueue
from plugins.persons import services
from plugins.persons.models import IndexBuild

FAILED_REBUILD_PAUSE = timedelta(minutes=10)
"""After a failed rebuild, how long detections wait before queueing another."""


def purge_expired_biometrics(run: JobRun) -> dict[str, Any]:
    """The daily retention job: erase face vectors and images older than the retention period
    and prune the gallery's old change log (``nebulo persons purge-biometrics`` enqueues it;
    run it daily from cron)."""
    with run.session() as session:
        erased = services.purge_expired_biometrics(session)
        pruned = services.prune_gallery_changes(session)
        session.commit()
        return {"erased": erased, "pruned_changes": pruned}


def request_index_rebuild(session: Session, project_id: uuid.UUID) -> uuid.UUID | None:
    """Queue a rebuild of the project's graph in ``session``'s transaction, unless one is
    already queued or running (or failed lately); returns the job's id, or None. Concurrent
    callers (any number of web and worker processes) race for the project's
    ``person_index_builds`` row: the one whose update or insert lands queues the job."""
    current = session.execute(
        select(IndexBuild.requested_at, Job.status)
        .outerjoin(Job, Job.id == IndexBuild.job_id)
        .where(IndexBuild.project_id == project_id)
    ).one_or_none()
    now = utcnow()
    if current is not None and (
        current.status in ("queued", "running")
        or (current.status == "failed" and current.requested_at > now - FAILED_REBUILD_PAUSE)
    ):
        return None
    if current is None:
        taken = session.execute(
            upsert_insert(session)(IndexBuild)
            .values(project_id=project_id, requested_at=now)
            .on_conflict_do_nothing()
        ).rowcount
    else:
        taken = session.execute(
            update(IndexBuild)
            .where(
                IndexBuild.project_id == project_id,
                IndexBuild.requested_at == current.requested_at,
            )
            .values(requested_at=now)
        ).rowcount
    if not taken:
        return None
    job_id = enqueue(rebuild_index, str(project_id), project_id=project_id, session=session)
    session.execute(
        update(IndexBuild).where(IndexBuild.project_id == project_id).values(job_id=job_id)
    )
    return job_id


def rebuild_index(run: JobRun, project_id: str) -> dict[str, Any]:
    """Build the project's ANN graph from the database and save it: every web and worker
    process loads it on its next search and catches up from its watermark. Searches meanwhile
    use the exact index or the previous graph. The vectors are read in one short transaction
    and the graph is built outside it."""
    from plugins.persons.index import take_snapshot  # numpy: not at the CLI's start-up

    gallery = services.runtime().gallery
    started = time.monotonic()
    with run.session() as session:
        snapshot = take_snapshot(session, uuid.UUID(project_id))
    count = len(snapshot.rows)
    run.progress(5, f"read {count} face vectors")
    reported = [5]

    def added(share: float) -> None:
        percent = 5 + int(share * 90)
        if percent >= reported[0] + 5:
            reported[0] = percent
            run.progress(percent, f"added {int(share * count)} of {count} vectors to the graph")

    gallery.save_graph(uuid.UUID(project_id), snapshot, added)
    return {
        "vectors": count,
        "watermark": snapshot.watermark,
        "seconds": round(time.monotonic() - started, 1),
    }
