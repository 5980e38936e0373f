"""The churn model's versions: training one on the labelled customers, the active version and
its pipeline (unpickled once per process) for the predictions."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.orm import Session

from core.config import setting
from core.context import Context
from core.db import Money, money_as_float, scoped
from core.errors import Conflict, Invalid, NotFound
from plugins.customers import churn
from plugins.customers.models import Customer, ModelVersion

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

FEATURE_COLUMNS = tuple(
    money_as_float(column).label(column.key) if isinstance(column.type, Money) else column
    for column in (getattr(Customer, name) for name in churn.FEATURES)
)
"""The model's inputs as read for training and scoring (amounts as floats: see money_as_float)."""
REQUIRED_COLUMNS = tuple(getattr(Customer, name) for name in churn.REQUIRED_FEATURES)
NO_MODEL = (
    "No churn model has been trained for this project yet. Label customers with 'churned' "
    "(or import a CSV with an Exited column), then POST /api/v1/customers/{project_id}/model/train "
    "and wait for the job to finish."
)

_PIPELINES: OrderedDict[uuid.UUID, Pipeline] = OrderedDict()
PIPELINES_CACHED = 8


def active_model(session: Session, project_id: uuid.UUID) -> ModelVersion | None:
    return session.scalar(
        scoped(ModelVersion, project_id).where(ModelVersion.is_active.is_(True)).limit(1)
    )


def require_model(session: Session, project_id: uuid.UUID) -> ModelVersion:
    version = active_model(session, project_id)
    if version is None:
        raise Conflict(NO_MODEL.replace("{project_id}", str(project_id)))
    return version


def pipeline_of(session: Session, version: ModelVersion) -> Pipeline:
    """The unpickled pipeline of ``version``, loaded from the database once per process."""
    pipeline = _PIPELINES.get(version.id)
    if pipeline is None:
        blob = session.scalar(select(ModelVersion.pipeline).where(ModelVersion.id == version.id))
        pipeline = churn.load(blob)
        _PIPELINES[version.id] = pipeline
        while len(_PIPELINES) > PIPELINES_CACHED:
            _PIPELINES.popitem(last=False)
    else:
        _PIPELINES.move_to_end(version.id)
    return pipeline


def model_info(session: Session, ctx: Context) -> ModelVersion:
    version = active_model(session, ctx.project_id)
    if version is None:
        raise NotFound(NO_MODEL.replace("{project_id}", str(ctx.project_id)))
    return version


def _labelled(project_id: uuid.UUID) -> Select:
    return select(*FEATURE_COLUMNS, Customer.churned).where(
        Customer.project_id == project_id,
        Customer.churned.is_not(None),
        *(column.is_not(None) for column in REQUIRED_COLUMNS),
    )


def check_can_train(session: Session, ctx: Context) -> None:
    """Answer 409 before a job is queued when the labelled data cannot train a model."""
    import numpy as np

    labelled = _labelled(ctx.project_id).subquery()
    total, churned = session.execute(
        select(func.count(), func.sum(case((labelled.c.churned.is_(True), 1), else_=0)))
    ).one()
    churned = int(churned or 0)
    labels = np.array([1] * churned + [0] * (total - churned))
    try:
        churn.check_training_data(labels, setting("NEBULO_CHURN_MIN_TRAINING_ROWS"))
    except churn.TrainingDataError as error:
        raise Conflict(str(error)) from None


def train_churn_model(
    session: Session, project_id: uuid.UUID, progress: churn.Progress | None = None
) -> ModelVersion:
    """Train on the project's labelled customers and make the result the active version."""
    import numpy as np

    report = progress or (lambda _percent, _message: None)
    report(5, "loading labelled customers")
    # Rows sorted by their own values: the same customers train the same model, whatever order
    # they were stored in or the database returns them.
    rows = session.execute(
        _labelled(project_id).order_by(
            *(getattr(Customer, name).asc().nulls_first() for name in churn.FEATURES),
            Customer.churned,
        )
    ).all()
    matrix = churn.feature_matrix(row[:-1] for row in rows)
    labels = np.array([row[-1] for row in rows], dtype=int)
    try:
        trained = churn.train(
            matrix,
            labels,
            min_rows=setting("NEBULO_CHURN_MIN_TRAINING_ROWS"),
            progress=report,
        )
    except churn.TrainingDataError as error:
        raise Invalid(str(error), errors={"churned": [str(error)]}) from None
    report(95, "storing the model version")
    latest = session.scalar(
        select(func.max(ModelVersion.version)).where(ModelVersion.project_id == project_id)
    )
    session.execute(
        update(ModelVersion).where(ModelVersion.project_id == project_id).values(is_active=False)
    )
    version = ModelVersion(
        project_id=project_id,
        version=(latest or 0) + 1,
        pipeline=churn.dump(trained.pipeline),
        metrics=trained.metrics,
        feature_importance=trained.feature_importance,
        reference=trained.reference,
        training_rows=trained.training_rows,
        is_active=True,
    )
    session.add(version)
    session.flush()
    _PIPELINES[version.id] = trained.pipeline
    return version
