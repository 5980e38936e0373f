"""Background jobs of the customers plugin: model training and batch scoring."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from core.context import Context
from core.jobs import JobRun, enqueue
from plugins.customers import predictions, training


def start_training(session: Session, ctx: Context) -> tuple[uuid.UUID, str]:
    """Queue a churn model training (409 first when the labels cannot train one); the job's id
    and what it does, for every route that offers training."""
    training.check_can_train(session, ctx)
    job_id = enqueue(
        train_churn_model, str(ctx.project_id), project_id=ctx.project_id, user_id=ctx.user_id
    )
    return job_id, "Training a churn model on the labelled customers"


def start_batch_prediction(
    session: Session, ctx: Context, customer_ids: list[uuid.UUID] | None
) -> tuple[uuid.UUID, str]:
    """Queue the scoring of ``customer_ids`` (None: every customer); 409 without a model and
    404 for an id outside the project, before anything is queued."""
    training.require_model(session, ctx.project_id)
    if customer_ids is not None:
        predictions.check_customers_exist(session, ctx, customer_ids)
    job_id = enqueue(
        predict_customers,
        str(ctx.project_id),
        None if customer_ids is None else [str(value) for value in customer_ids],
        project_id=ctx.project_id,
        user_id=ctx.user_id,
    )
    what = "every customer" if customer_ids is None else f"{len(customer_ids)} customer(s)"
    return job_id, f"Scoring {what}"


def train_churn_model(run: JobRun, project_id: str) -> dict[str, Any]:
    """Train a churn model version on the project's labelled customers and activate it."""
    with run.session() as session:
        version = training.train_churn_model(session, uuid.UUID(project_id), run.progress)
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

        return predictions.predict_customers(
            session, uuid.UUID(project_id), ids, chunk_done, batch_job_id=run.job_id
        )
