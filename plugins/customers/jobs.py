"""Background jobs of the customers plugin: model training and batch scoring."""

from __future__ import annotations

import uuid
from typing import Any

from core.jobs import JobRun
from plugins.customers import services


def train_churn_model(run: JobRun, project_id: str) -> dict[str, Any]:
    """Train a churn model version on the project's labelled customers and activate it."""
    with run.session() as session:
        version = services.train_churn_model(session, uuid.UUID(project_id), run.progress)
        return {
            "model_id": str(version.id),
            "model_version": version.version,
            "training_rows": version.training_rows,
            "metrics": version.metrics,
        }


def predict_customers(
    run: JobRun, project_id: str, customer_ids: list[str] | None = None
) -> dict[str, Any]:
    """Score the given customers (or all of them) with the active model.

    Each scored chunk is committed before progress is reported: the progress row is written
    in its own transaction, which SQLite would otherwise block behind this one. A retry
    resumes after the chunks committed by the lost attempt (the points carry the job id)."""
    ids = None if customer_ids is None else [uuid.UUID(value) for value in customer_ids]
    with run.session() as session:

        def chunk_done(percent: int, message: str) -> None:
            session.commit()
            run.progress(percent, message)

        return services.predict_customers(
            session, uuid.UUID(project_id), ids, chunk_done, batch_job_id=run.job_id
        )
