"""Churn risk scores: one customer at a time or a batch in vectorised chunks, each written as a
risk history point and the customer's new score and tier, with an alert (and the event
``customer.risk_changed``) for each customer entering high risk; and why a score is what it is."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from core.config import setting
from core.context import Context
from core.db import insert_rows, utcnow
from core.errors import Invalid, NotFound
from plugins.customers import churn
from plugins.customers.models import Alert, Customer, ModelVersion, RiskHistory
from plugins.customers.services import get_customer
from plugins.customers.training import FEATURE_COLUMNS, pipeline_of, require_model

if TYPE_CHECKING:
    import numpy as np

SCORING_CHUNK = 5_000
HIGH_RISK_ALERT = "high_risk"
RISK_CHANGED = "customer.risk_changed"


def risk_thresholds() -> tuple[float, float]:
    """``(medium, high)``: scores at or above them are in the medium or high tier."""
    return setting("NEBULO_CHURN_MEDIUM_THRESHOLD"), setting("NEBULO_CHURN_HIGH_THRESHOLD")


def risk_tier(score: Any) -> Any:
    """SQL: the tier of a score column under the current thresholds, as a prediction stores it."""
    medium, high = risk_thresholds()
    return case((score >= high, "high"), (score >= medium, "medium"), else_="low")


def _feature_values(customer: Customer) -> list[Any]:
    """The customer's values of the model's features; 422 naming the required ones missing."""
    missing = [name for name in churn.REQUIRED_FEATURES if getattr(customer, name) is None]
    if missing:
        raise Invalid(
            f"Customer {customer.id} lacks features the model needs: {', '.join(missing)}",
            errors={name: ["Required for a prediction"] for name in missing},
        )
    return [getattr(customer, name) for name in churn.FEATURES]


def _features_used(values: Iterable[Any]) -> dict[str, Any]:
    return {
        name: float(value) if isinstance(value, Decimal) else value
        for name, value in zip(churn.FEATURES, values, strict=True)
    }


def predict_customer(session: Session, ctx: Context, customer_id: uuid.UUID) -> dict[str, Any]:
    """Score one customer, store the risk history point and update the customer (seed 002)."""
    customer = get_customer(session, ctx, customer_id)
    version = require_model(session, ctx.project_id)
    values = _feature_values(customer)
    row = (customer.id, customer.name, customer.email, customer.risk_tier, *values)
    scored = _score_and_record(session, ctx.project_id, version, [row])
    session.refresh(customer)
    return {
        "customer_id": customer.id,
        "risk_score": customer.risk_score,
        "risk_tier": customer.risk_tier,
        "prediction_time": scored.predicted_at,
        "model_version": version.version,
        "features_used": _features_used(values),
    }


@dataclass
class Scored:
    predicted_at: datetime
    scored: int = 0
    alerts: int = 0


def _chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


SCORED_ROW_PREFIX = (Customer.id, Customer.name, Customer.email, Customer.risk_tier)
"""Columns before the features in the rows ``_score_and_record`` takes."""
FEATURES_START = len(SCORED_ROW_PREFIX)
RISK_HISTORY = RiskHistory.__table__
CUSTOMERS = Customer.__table__
ALERTS = Alert.__table__
ALERT_COLUMNS = ("id", "customer_id", "message", "risk_score")


def _score_and_record(
    session: Session,
    project_id: uuid.UUID,
    version: ModelVersion,
    rows: list[Any],
    progress: churn.Progress | None = None,
    batch_job_id: uuid.UUID | None = None,
) -> Scored:
    """Score ``(id, name, email, previous_tier, *features)`` rows in vectorised chunks; write
    the history, the customers' new score and tier, and an alert for each customer entering
    high risk. Each chunk is one history INSERT (executemany) stamped with the chunk's time and
    one set-based UPDATE of its customers from those rows: no ORM object, no UPDATE per row.
    A second thread scores the next chunks while this one writes (both spend most of their
    time in C code that releases the GIL: the trees' predictions, the database driver)."""
    pipeline = pipeline_of(session, version)
    high = risk_thresholds()[1]
    outcome = Scored(predicted_at=utcnow())
    chunks = list(_chunks(rows, SCORING_CHUNK))

    def score(chunk: list[Any]) -> np.ndarray:
        return churn.score(pipeline, churn.feature_matrix(row[FEATURES_START:] for row in chunk))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nebulo-churn-score") as scorer:
        for chunk, scores in zip(chunks, scorer.map(score, chunks), strict=True):
            _record_chunk(session, project_id, version, chunk, scores, high, outcome, batch_job_id)
            if progress is not None:
                progress(
                    min(99, 10 + int(89 * outcome.scored / len(rows))),
                    f"scored {outcome.scored} of {len(rows)} customers",
                )
    return outcome


def _record_chunk(
    session: Session,
    project_id: uuid.UUID,
    version: ModelVersion,
    chunk: list[Any],
    scores: np.ndarray,
    high: float,
    outcome: Scored,
    batch_job_id: uuid.UUID | None,
) -> None:
    """One chunk's history rows, customer updates and alerts (see ``_score_and_record``)."""
    import numpy as np

    now = outcome.predicted_at = utcnow()
    score_values = scores.tolist()
    insert_rows(
        session,
        RISK_HISTORY,
        ("customer_id", "score"),
        [(row[0], score) for row, score in zip(chunk, score_values, strict=True)],
        constants={
            "project_id": project_id,
            "model_version_id": version.id,
            "timestamp": now,
            "batch_job_id": batch_job_id,
        },
    )
    session.execute(
        update(CUSTOMERS)
        .where(
            CUSTOMERS.c.id == RISK_HISTORY.c.customer_id,
            RISK_HISTORY.c.project_id == project_id,
            RISK_HISTORY.c.timestamp == now,
        )
        .values(
            risk_score=RISK_HISTORY.c.score,
            risk_tier=risk_tier(RISK_HISTORY.c.score),
            last_updated=now,
        )
    )
    previous_tiers = np.array([row[3] for row in chunk], dtype=object)
    entering_high = np.flatnonzero((scores >= high) & (previous_tiers != "high")).tolist()
    _raise_alerts(
        session,
        project_id,
        [(chunk[index], score_values[index]) for index in entering_high],
        now,
    )
    outcome.alerts += len(entering_high)
    outcome.scored += len(chunk)


def _risk_webhook_exists(session: Session, project_id: uuid.UUID) -> bool:
    from core.webhooks.services import active_webhooks

    return any(webhook.wants(RISK_CHANGED) for webhook in active_webhooks(session, project_id))


def _raise_alerts(
    session: Session,
    project_id: uuid.UUID,
    entering_high: list[tuple[Any, float]],
    now: datetime,
) -> None:
    """Record an alert per customer entering high risk and publish ``customer.risk_changed``
    for each; the project's webhooks carry it. Without such a webhook the alert says so."""
    if not entering_high:
        return
    from core.events import publish

    undeliverable = (
        None
        if _risk_webhook_exists(session, project_id)
        else f"No active webhook of the project subscribes to {RISK_CHANGED}"
    )
    alerts = []
    for (customer_id, name, email, previous_tier, *_features), score in entering_high:
        alert = {
            "id": uuid.uuid4(),
            "customer_id": customer_id,
            "message": f"{name} entered high churn risk ({score:.0%})"[:500],
            "risk_score": score,
        }
        alerts.append(alert)
        publish(
            session,
            RISK_CHANGED,
            project_id,
            {
                "customer_id": customer_id,
                "name": name,
                "email": email,
                "previous_tier": previous_tier,
                "risk_tier": "high",
                "risk_score": score,
                "alert_id": alert["id"],
                "message": alert["message"],
            },
        )
    insert_rows(
        session,
        ALERTS,
        ALERT_COLUMNS,
        [tuple(alert[name] for name in ALERT_COLUMNS) for alert in alerts],
        constants={
            "project_id": project_id,
            "alert_type": HIGH_RISK_ALERT,
            "was_sent": False,
            "error_message": undeliverable,
            "created_at": now,
        },
    )


def predict_customers(
    session: Session,
    project_id: uuid.UUID,
    customer_ids: list[uuid.UUID] | None = None,
    progress: churn.Progress | None = None,
    batch_job_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Score the given customers (default: all) that carry the model's features;
    ``progress`` is called after each chunk of scores has been written.

    A batch job passes its id: its points carry it, and a retry of the job (after its worker
    was lost mid-batch) scores only the customers its earlier attempts did not, so every
    customer gets one point per batch. Customers go in id order, which keeps the inserts
    into the (batch, customer) index appends."""
    version = require_model(session, project_id)
    statement = (
        select(*SCORED_ROW_PREFIX, *FEATURE_COLUMNS)
        .where(Customer.project_id == project_id)
        .order_by(Customer.id)
    )
    if customer_ids is not None:
        statement = statement.where(Customer.id.in_(customer_ids))
    rows = session.execute(statement).all()
    if customer_ids is not None:
        _raise_unknown(set(customer_ids) - {row[0] for row in rows})
    required = [churn.FEATURES.index(name) + FEATURES_START for name in churn.REQUIRED_FEATURES]
    complete = [row for row in rows if all(row[index] is not None for index in required)]
    done = _scored_in_batch(session, batch_job_id) if batch_job_id is not None else set()
    remaining = [row for row in complete if row[0] not in done]
    if progress is not None:
        progress(10, f"scoring {len(remaining)} customers")
    scored = _score_and_record(session, project_id, version, remaining, progress, batch_job_id)
    return {
        "model_version": version.version,
        "scored": len(complete) - len(remaining) + scored.scored,
        "skipped_missing_features": len(rows) - len(complete),
        "alerts": scored.alerts,
    }


def _scored_in_batch(session: Session, batch_job_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        session.scalars(
            select(RiskHistory.customer_id).where(RiskHistory.batch_job_id == batch_job_id)
        )
    )


def check_customers_exist(session: Session, ctx: Context, customer_ids: list[uuid.UUID]) -> None:
    """404 before a batch job is queued when an id is not a customer of the project."""
    found = set(
        session.scalars(
            select(Customer.id).where(
                Customer.project_id == ctx.project_id, Customer.id.in_(customer_ids)
            )
        )
    )
    _raise_unknown(set(customer_ids) - found)


def _raise_unknown(unknown: set[uuid.UUID]) -> None:
    if unknown:
        names = ", ".join(map(str, sorted(unknown)))
        raise NotFound(f"Customers not found in this project: {names}")


def explain_risk(
    session: Session, ctx: Context, customer_id: uuid.UUID, top: int = 5
) -> dict[str, Any]:
    """The features that move this customer's score most, against the training median/mode."""
    customer = get_customer(session, ctx, customer_id)
    version = require_model(session, ctx.project_id)
    values = _feature_values(customer)
    row = churn.feature_matrix([values])[0]
    pipeline = pipeline_of(session, version)
    effects = churn.contributions(pipeline, row, version.reference)[:top]
    features = _features_used(values)
    return {
        "customer_id": customer.id,
        "name": customer.name,
        "risk_score": float(churn.score(pipeline, row.reshape(1, -1))[0]),
        "model_version": version.version,
        "top_factors": [
            {
                "feature": name,
                "value": features[name],
                "typical_value": version.reference[name],
                "effect": round(effect, 4),
                "direction": "raises risk" if effect > 0 else "lowers risk",
            }
            for name, effect in effects
        ],
    }
