"""Churn model: training time and held-out ROC AUC on 10,000 bank-churn customers, and batch
scoring of 100,000 customers, each beside the baseline a capable user would use instead.

Data are generated with a known signal (``plugins.customers.synthetic``), no downloads.
Baselines: the best simple model (``churn.build_baseline``: logistic regression with one-hot
``products`` and age², trained and measured by the same ``churn.train`` on the same split) for
training, AUC and the model path; for the batch-prediction service (read the customers, score,
write a risk-history point each, update every customer, raise alerts, as a batch job with its
id), the same work written by hand on the same SQLite database: one SELECT, the same
pipeline, bulk inserts and a bulk update by primary key.

``BENCH_CHURN_SCORING_ROWS`` scores fewer customers (default 100,000) while developing.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update

from bench import Figure, Target, median_of
from plugins.customers import churn
from plugins.customers.synthetic import generate_customers

TRAINING_ROWS = 10_000
SCORING_ROWS = int(os.environ.get("BENCH_CHURN_SCORING_ROWS", "100000"))
SCORING_RUNS = 5
TRAINING_RUNS = BATCH_RUNS = 1
"""Training takes seconds and a batch writes its points: one run each, figure and baseline."""
TRAINING_SECONDS_TARGET = 20.0
SCORING_RATE_TARGET = 20_000.0
BATCH_RATIO_TARGET = 0.5


def _rows(customers: list[dict]) -> list[list[Any]]:
    return [[customer[name] for name in churn.FEATURES] for customer in customers]


def _scoring_rate(pipeline, rows: list[list[Any]]) -> float:
    """Customers per second from feature rows to probabilities (median of SCORING_RUNS)."""

    def rate() -> float:
        _scores, seconds = churn.timed(lambda: churn.score(pipeline, churn.feature_matrix(rows)))
        return len(rows) / seconds

    return median_of(SCORING_RUNS, rate)


def _store(db, trained: churn.TrainedModel, customers: list[dict]) -> uuid.UUID:
    """A project holding ``customers`` and ``trained`` as its active model; its id."""
    from core.projects.models import Project
    from plugins.customers.models import Customer, ModelVersion

    project_id = uuid.uuid4()
    with db.session_scope() as session:
        session.add(Project(id=project_id, name=f"Bench {project_id.hex[:6]}"))
        session.flush()
        session.execute(
            insert(Customer),
            [{"id": uuid.uuid4(), "project_id": project_id, **c} for c in customers],
        )
        session.add(
            ModelVersion(
                project_id=project_id,
                version=1,
                pipeline=churn.dump(trained.pipeline),
                metrics=trained.metrics,
                feature_importance=trained.feature_importance,
                reference=trained.reference,
                training_rows=trained.training_rows,
                is_active=True,
            )
        )
    return project_id


def _by_hand(session, project_id: uuid.UUID, batch_job_id: uuid.UUID) -> int:
    """The batch's work as a capable user writes it: one SELECT, the same pipeline, bulk
    writes. Returns the number of customers scored."""
    from core.db import utcnow
    from plugins.customers.models import Alert, Customer, ModelVersion, RiskHistory
    from plugins.customers.predictions import risk_thresholds

    version = session.scalars(
        select(ModelVersion).where(ModelVersion.project_id == project_id, ModelVersion.is_active)
    ).one()
    pipeline = churn.load(version.pipeline)
    features = [getattr(Customer, name) for name in churn.FEATURES]
    customers = session.execute(
        select(Customer.id, Customer.name, Customer.risk_tier, *features).where(
            Customer.project_id == project_id
        )
    ).all()
    scores = churn.score(pipeline, churn.feature_matrix(row[3:] for row in customers)).tolist()
    medium, high = risk_thresholds()
    now = utcnow()
    common = {"project_id": project_id, "model_version_id": version.id, "timestamp": now}
    session.execute(
        insert(RiskHistory),
        [
            {**common, "customer_id": row[0], "score": score, "batch_job_id": batch_job_id}
            for row, score in zip(customers, scores, strict=True)
        ],
    )
    tiers = ["high" if s >= high else "medium" if s >= medium else "low" for s in scores]
    session.execute(
        update(Customer),
        [
            {"id": row[0], "risk_score": score, "risk_tier": tier, "last_updated": now}
            for row, score, tier in zip(customers, scores, tiers, strict=True)
        ],
    )
    entering_high = [
        {
            "project_id": project_id,
            "customer_id": row[0],
            "alert_type": "high_risk",
            "message": f"{row[1]} entered high churn risk ({score:.0%})",
            "risk_score": score,
        }
        for row, score, tier in zip(customers, scores, tiers, strict=True)
        if tier == "high" and row[2] != "high"
    ]
    if entering_high:
        session.execute(insert(Alert), entering_high)
    return len(customers)


def _batch_rates(trained: churn.TrainedModel, customers: list[dict]) -> tuple[float, float]:
    """Customers per second through ``predictions.predict_customers`` (a batch job's path, with
    its ``batch_job_id``) and through :func:`_by_hand`, each on its own project of one fresh
    SQLite file holding the same customers; the commit is part of both."""
    from core import migrate
    from core.app import create_app
    from core.config import load_settings
    from plugins.customers import predictions

    with tempfile.TemporaryDirectory() as directory:
        settings = load_settings(
            {},
            env="testing",
            database_url=f"sqlite:///{Path(directory) / 'bench.db'}",
            secret_key="bench-secret-key-that-is-long-enough-0123456789",
            log_level="WARNING",
        )
        app = create_app(settings)
        migrate.upgrade(app)
        with app.app_context():
            db = app.extensions["nebulo"].db
            service_project = _store(db, trained, customers)
            hand_project = _store(db, trained, customers)

            def service_rate() -> float:
                def predict() -> dict:
                    with db.session_scope() as session:
                        return predictions.predict_customers(
                            session, service_project, batch_job_id=uuid.uuid4()
                        )

                result, seconds = churn.timed(predict)
                return result["scored"] / seconds

            def hand_rate() -> float:
                def predict() -> int:
                    with db.session_scope() as session:
                        return _by_hand(session, hand_project, uuid.uuid4())

                scored, seconds = churn.timed(predict)
                return scored / seconds

            rates = median_of(BATCH_RUNS, service_rate), median_of(BATCH_RUNS, hand_rate)
        db.dispose()
    return rates


def run() -> list[Figure]:
    training = generate_customers(TRAINING_ROWS, seed=11)
    matrix = churn.feature_matrix(_rows(training))
    labels = np.array([customer["churned"] for customer in training], dtype=int)
    model, model_seconds = churn.timed(lambda: churn.train(matrix, labels))
    baseline, baseline_seconds = churn.timed(
        lambda: churn.train(matrix, labels, pipeline=churn.build_baseline())
    )
    scoring = generate_customers(SCORING_ROWS, seed=12)
    for customer in scoring:
        customer.pop("churned")
    rows = _rows(scoring)
    service_rate, hand_rate = _batch_rates(model, scoring)
    simple = "LR, one-hot products + age²"
    return [
        Figure(
            f"churn training on {TRAINING_ROWS:,} customers",
            model_seconds,
            "s",
            baseline_seconds,
            simple,
            TRAINING_RUNS,
            Target("<", TRAINING_SECONDS_TARGET),
        ),
        Figure(
            "churn held-out ROC AUC (same 80/20 split)",
            model.metrics["roc_auc"],
            "AUC",
            baseline.metrics["roc_auc"],
            simple,
            TRAINING_RUNS,
            Target(">", 1.0, on="ratio"),
        ),
        Figure(
            f"churn scoring, model path, {SCORING_ROWS:,} customers",
            _scoring_rate(model.pipeline, rows),
            "cust/s",
            _scoring_rate(baseline.pipeline, rows),
            simple,
            SCORING_RUNS,
            Target(">", SCORING_RATE_TARGET),
        ),
        Figure(
            f"churn batch prediction job with DB writes (SQLite), {SCORING_ROWS:,}",
            service_rate,
            "cust/s",
            hand_rate,
            "same work by hand",
            BATCH_RUNS,
            Target(">=", BATCH_RATIO_TARGET, on="ratio"),
        ),
    ]
