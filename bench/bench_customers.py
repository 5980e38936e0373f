"""Churn model: training time and held-out ROC AUC on 10,000 bank-churn customers, and batch
scoring of 100,000 customers, each beside a logistic-regression baseline of the same run.

Data are generated with a known signal (``plugins.customers.synthetic``), no downloads.
Scoring is measured twice: the model path alone (feature matrix, calibrated probabilities,
tiers) and the whole batch-prediction service on an embedded SQLite database (read the
customers, score, write 100,000 risk-history rows, update every customer, raise alerts).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from bench import Figure
from plugins.customers import churn
from plugins.customers.synthetic import generate_customers

TRAINING_ROWS = 10_000
SCORING_ROWS = 100_000
TRAINING_SECONDS_TARGET = 20.0
ROC_AUC_TARGET = 0.85
SCORING_RATE_TARGET = 20_000.0


def _matrix(customers: list[dict]) -> np.ndarray:
    return churn.feature_matrix(
        [customer[name] for name in churn.FEATURES] for customer in customers
    )


def _labels(customers: list[dict]) -> np.ndarray:
    return np.array([customer["churned"] for customer in customers], dtype=int)


def _scoring_rate(pipeline, customers: list[dict]) -> float:
    rows = [[customer[name] for name in churn.FEATURES] for customer in customers]

    def score_all() -> np.ndarray:
        return churn.score(pipeline, churn.feature_matrix(rows))

    _scores, seconds = churn.timed(score_all)
    return len(rows) / seconds


def _service_rate(pipeline_blob_model: churn.TrainedModel, customers: list[dict]) -> float:
    """Customers per second through ``services.predict_customers`` on a fresh SQLite file."""
    from core import migrate
    from core.app import create_app
    from core.config import load_settings
    from core.projects.models import Project
    from plugins.customers import services
    from plugins.customers.models import Customer, ModelVersion

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
        project_id = uuid.uuid4()
        with app.app_context():
            db = app.extensions["nebulo"].db
            with db.session_scope() as session:
                session.add(Project(id=project_id, name="Bench"))
                session.flush()
                session.execute(
                    insert(Customer),
                    [{"id": uuid.uuid4(), "project_id": project_id, **c} for c in customers],
                )
                session.add(
                    ModelVersion(
                        project_id=project_id,
                        version=1,
                        pipeline=churn.dump(pipeline_blob_model.pipeline),
                        metrics=pipeline_blob_model.metrics,
                        feature_importance=pipeline_blob_model.feature_importance,
                        reference=pipeline_blob_model.reference,
                        training_rows=pipeline_blob_model.training_rows,
                        is_active=True,
                    )
                )
            started = time.perf_counter()
            with db.session_scope() as session:  # the commit is part of the figure
                result = services.predict_customers(session, project_id)
            seconds = time.perf_counter() - started
        db.dispose()
    return result["scored"] / seconds


def run() -> list[Figure]:
    training = generate_customers(TRAINING_ROWS, seed=11)
    matrix, labels = _matrix(training), _labels(training)
    model, model_seconds = churn.timed(lambda: churn.train(matrix, labels))
    baseline, baseline_seconds = churn.timed(
        lambda: churn.train(matrix, labels, pipeline=churn.build_baseline())
    )
    scoring = generate_customers(SCORING_ROWS, seed=12)
    for customer in scoring:
        customer.pop("churned")
    model_rate = _scoring_rate(model.pipeline, scoring)
    baseline_rate = _scoring_rate(baseline.pipeline, scoring)
    service_rate = _service_rate(model, scoring)
    return [
        Figure(
            f"churn training on {TRAINING_ROWS:,} customers",
            model_seconds,
            "s",
            f"< {TRAINING_SECONDS_TARGET:.0f} s",
            model_seconds < TRAINING_SECONDS_TARGET,
            baseline_seconds,
            "logistic regression",
        ),
        Figure(
            "churn held-out ROC AUC",
            model.metrics["roc_auc"],
            "AUC",
            f">= {ROC_AUC_TARGET}",
            model.metrics["roc_auc"] >= ROC_AUC_TARGET,
            baseline.metrics["roc_auc"],
            "logistic regression",
        ),
        Figure(
            f"churn scoring, model path, {SCORING_ROWS:,} customers",
            model_rate,
            "cust/s",
            f"> {SCORING_RATE_TARGET:,.0f}",
            model_rate > SCORING_RATE_TARGET,
            baseline_rate,
            "logistic regression",
        ),
        Figure(
            f"churn batch prediction with DB writes (SQLite), {SCORING_ROWS:,}",
            service_rate,
            "cust/s",
            f"> {SCORING_RATE_TARGET:,.0f}",
            service_rate > SCORING_RATE_TARGET,
            baseline_rate,
            "LR model path",
        ),
    ]
