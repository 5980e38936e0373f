"""The churn-risk model: feature matrix, training, scoring and per-customer explanations.

Everything here works on plain numpy arrays (no DataFrame), so scoring 100,000 customers is a
handful of vectorised calls. Columns are ``NUMERIC_FEATURES`` then ``CATEGORICAL_FEATURES``.
numpy, scikit-learn and joblib are imported by the functions that use them: they take from a
tenth of a second to seconds to import, and every ``nebulo`` command loads this plugin.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

NUMERIC_FEATURES = (
    "age",
    "tenure",
    "balance",
    "products",
    "credit_card",
    "active",
    "salary",
    "credit_score",
)
CATEGORICAL_FEATURES = ("geography", "gender")
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES
REQUIRED_FEATURES = ("age", "tenure", "balance", "products", "credit_card", "active", "salary")
"""The seed's seven features: a customer without all of them gets no score."""
UNKNOWN_CATEGORY = "unknown"
OPENMP_THREADS = 1
"""Gradient boosting runs single-threaded: web and job workers already share the cores, and
OpenMP threads competing with them make training many times slower, not faster."""
TEST_SHARE = 0.2
RANDOM_STATE = 42

Progress = Callable[[int, str], None]


class TrainingDataError(ValueError):
    """The labelled data cannot train a model; the message says what is missing."""


@dataclass
class TrainedModel:
    pipeline: Pipeline
    metrics: dict[str, float]
    feature_importance: dict[str, float]
    reference: dict[str, Any]
    """Training median (numeric) or mode (categorical) of each feature, for explanations."""
    training_rows: int


def feature_matrix(rows: Iterable[Sequence[Any]]) -> np.ndarray:
    """An object array of ``FEATURES`` from rows holding the features in that order.

    Numbers (Decimal, bool, int) become floats and missing numbers NaN (the classifier handles
    them); missing categories become ``"unknown"``.
    """
    import numpy as np

    numeric_count = len(NUMERIC_FEATURES)
    matrix = np.array(list(rows), dtype=object).reshape(-1, len(FEATURES))
    numeric = matrix[:, :numeric_count]
    numeric[numeric == None] = np.nan  # noqa: E711 - elementwise comparison on an array
    matrix[:, :numeric_count] = numeric.astype(float)
    categorical = matrix[:, numeric_count:]
    categorical[categorical == None] = UNKNOWN_CATEGORY  # noqa: E711
    matrix[:, numeric_count:] = categorical
    return matrix


def _preprocessor() -> ColumnTransformer:
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = list(range(len(NUMERIC_FEATURES)))
    categorical = list(range(len(NUMERIC_FEATURES), len(FEATURES)))
    return ColumnTransformer(
        [
            ("scale", StandardScaler(), numeric),
            (
                "encode",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=float),
                categorical,
            ),
        ]
    )


def build_pipeline() -> Pipeline:
    """Scaling and one-hot encoding, then gradient boosting with calibrated probabilities.

    The calibrator learns from cross-validated scores but serves one booster refitted on all
    rows (``ensemble=False``): as accurate here as averaging the three fold boosters, and
    scoring walks a third of the trees, which is what batch prediction spends its time on."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import Pipeline

    booster = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=150,
        max_depth=3,
        min_samples_leaf=20,
        l2_regularization=1.0,
        random_state=RANDOM_STATE,
    )
    return Pipeline(
        [
            ("features", _preprocessor()),
            (
                "classifier",
                # Shuffled folds: rows arrive sorted (see train_churn_model), and contiguous
                # folds of sorted rows would each miss a whole range of ages.
                CalibratedClassifierCV(
                    booster,
                    method="sigmoid",
                    cv=StratifiedKFold(3, shuffle=True, random_state=RANDOM_STATE),
                    ensemble=False,
                ),
            ),
        ]
    )


def build_baseline() -> Pipeline:
    """The best simple model, the yardstick the benchmark prints: logistic regression with
    ``products`` one-hot encoded (churn is not monotonic in it) and ``age`` beside its square
    (risk rises, then falls, with age). The model must beat this, not a crippled linear fit."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    age = NUMERIC_FEATURES.index("age")
    products = NUMERIC_FEATURES.index("products")
    numeric = [i for i in range(len(NUMERIC_FEATURES)) if i != products]
    categorical = [products, *range(len(NUMERIC_FEATURES), len(FEATURES))]
    one_hot = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=float)
    features = ColumnTransformer(
        [
            ("scale", StandardScaler(), numeric),
            ("age_squared", make_pipeline(FunctionTransformer(_square), StandardScaler()), [age]),
            ("encode", one_hot, categorical),
        ]
    )
    return Pipeline([("features", features), ("classifier", LogisticRegression(max_iter=1000))])


def _square(values: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.square(values.astype(float))


def check_training_data(labels: np.ndarray, min_rows: int) -> None:
    """Raise :class:`TrainingDataError` unless both classes have enough labelled rows."""
    import numpy as np

    total = len(labels)
    if total < min_rows:
        raise TrainingDataError(
            f"Training needs at least {min_rows} customers with a churned label; "
            f"this project has {total}. Label more customers (import a CSV with an Exited "
            "column or set 'churned') and train again."
        )
    churned = int(np.count_nonzero(labels))
    smaller = min(churned, total - churned)
    if smaller < 10:
        raise TrainingDataError(
            "Training needs both churned and retained customers (at least 10 of each); "
            f"the labelled customers have {churned} churned and {total - churned} retained."
        )


def score(pipeline: Pipeline, matrix: np.ndarray) -> np.ndarray:
    """Churn probability of each row."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    if len(matrix) == 0:
        return np.empty(0)
    with threadpool_limits(OPENMP_THREADS, user_api="openmp"):
        return pipeline.predict_proba(matrix)[:, 1]


def evaluate(pipeline: Pipeline, matrix: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    probabilities = score(pipeline, matrix)
    predicted = probabilities >= 0.5
    return {
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "precision": round(float(precision_score(labels, predicted, zero_division=0)), 4),
        "recall": round(float(recall_score(labels, predicted, zero_division=0)), 4),
        "f1_score": round(float(f1_score(labels, predicted, zero_division=0)), 4),
        "roc_auc": round(float(roc_auc_score(labels, probabilities)), 4),
    }


def reference_values(matrix: np.ndarray) -> dict[str, Any]:
    import numpy as np

    reference: dict[str, Any] = {}
    for index, name in enumerate(FEATURES):
        column = matrix[:, index]
        if name in NUMERIC_FEATURES:
            values = column.astype(float)
            reference[name] = float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0
        else:
            categories, counts = np.unique(column.astype(str), return_counts=True)
            reference[name] = str(categories[counts.argmax()])
    return reference


def train(
    matrix: np.ndarray,
    labels: np.ndarray,
    *,
    min_rows: int = 50,
    progress: Progress | None = None,
    pipeline: Pipeline | None = None,
) -> TrainedModel:
    """Fit on a stratified 80 % split, measure on the held-out 20 %, rank features by
    permutation importance, then refit on every row so the served model sees all the data."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    report = progress or (lambda _percent, _message: None)
    labels = np.asarray(labels, dtype=int)
    check_training_data(labels, min_rows)
    template = pipeline if pipeline is not None else build_pipeline()
    train_x, test_x, train_y, test_y = train_test_split(
        matrix, labels, test_size=TEST_SHARE, stratify=labels, random_state=RANDOM_STATE
    )
    report(20, f"fitting on {len(train_y)} customers")
    with threadpool_limits(OPENMP_THREADS, user_api="openmp"):
        held_out_model = clone(template).fit(train_x, train_y)
    report(55, f"evaluating on {len(test_y)} held-out customers")
    metrics = evaluate(held_out_model, test_x, test_y)
    report(65, "computing permutation importance")
    with threadpool_limits(OPENMP_THREADS, user_api="openmp"):
        importance = permutation_importance(
            held_out_model,
            test_x,
            test_y,
            scoring="roc_auc",
            n_repeats=3,
            random_state=RANDOM_STATE,
        )
    feature_importance = {
        name: round(float(value), 4)
        for name, value in sorted(
            zip(FEATURES, importance.importances_mean, strict=True), key=lambda item: -item[1]
        )
    }
    report(80, f"refitting on all {len(labels)} customers")
    with threadpool_limits(OPENMP_THREADS, user_api="openmp"):
        final = clone(template).fit(matrix, labels)
    return TrainedModel(final, metrics, feature_importance, reference_values(matrix), len(labels))


def contributions(
    pipeline: Pipeline, row: np.ndarray, reference: dict[str, Any]
) -> list[tuple[str, float]]:
    """How much each feature moves this customer's risk: the score minus the score with that
    feature set to its training median (or mode), largest effect first."""
    import numpy as np

    variants = np.repeat(row.reshape(1, -1), len(FEATURES) + 1, axis=0)
    for index, name in enumerate(FEATURES):
        variants[index + 1, index] = reference[name]
    scores = score(pipeline, variants)
    deltas = [(name, float(scores[0] - scores[i + 1])) for i, name in enumerate(FEATURES)]
    return sorted(deltas, key=lambda item: -abs(item[1]))


def dump(pipeline: Pipeline) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    return buffer.getvalue()


def load(blob: bytes) -> Pipeline:
    import joblib

    return joblib.load(io.BytesIO(blob))


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    """``(result, seconds)`` of one call; the benchmark's stopwatch."""
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started
