"""Customer segments' computation: RFM scores, the 11 named segments, clustering, evaluation.

Pure functions over arrays of customers (recency in days, frequency in orders, monetary
value); the services feed them what the metrics layer says each customer bought and store
the result. numpy and scikit-learn are imported by the functions that use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

ALGORITHMS = ("kmeans", "dbscan")
SEGMENTS = (
    "Champions",
    "Loyal Customers",
    "Potential Loyalists",
    "Recent Customers",
    "Promising",
    "Customers Needing Attention",
    "About To Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
)
GRID = {
    5: ("Recent Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"),
    4: (
        "Promising",
        "Potential Loyalists",
        "Potential Loyalists",
        "Loyal Customers",
        "Loyal Customers",
    ),
    3: (
        "About To Sleep",
        "About To Sleep",
        "Customers Needing Attention",
        "Loyal Customers",
        "Loyal Customers",
    ),
    2: ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
    1: ("Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"),
}
"""The R x FM grid: ``GRID[r][fm - 1]``, recency score by the mean of frequency and monetary."""
K_RANGE = range(2, 9)
"""k-means' k is chosen by silhouette among these when not given."""
SILHOUETTE_SAMPLE = 5000
"""Silhouette is quadratic in customers: past this many it is computed on a fixed sample."""
K_CHOICE_SAMPLE = 3000
"""Choosing k clusters a fixed sample of this many customers with each candidate k."""
RANDOM_STATE = 17


@dataclass
class Segmentation:
    """Per customer (in input order): scores, named segment and cluster; and the run's
    parameters and evaluation."""

    r_score: np.ndarray
    f_score: np.ndarray
    m_score: np.ndarray
    segment: list[str]
    cluster: np.ndarray
    clusters: int
    parameters: dict[str, Any]
    evaluation: dict[str, Any]


def quintile_scores(values: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """1..5 by rank; equal values share a score (average ranks), so ties never split."""
    import numpy as np

    share = average_ranks(np.asarray(values)) / len(values)
    scores = np.clip(np.ceil(share * 5), 1, 5).astype(int)
    return scores if higher_is_better else 6 - scores


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, equal values sharing the mean of their ranks (scipy's ``rankdata``)."""
    import numpy as np

    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def named_segments(r_score: np.ndarray, f_score: np.ndarray, m_score: np.ndarray) -> list[str]:
    """Each customer's segment in the R x FM grid."""
    fm_score = (f_score + m_score + 1) // 2
    return [GRID[int(r)][int(fm) - 1] for r, fm in zip(r_score, fm_score, strict=True)]


def features(recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
    """log(1 + R, F, M), standardised: what the clustering sees."""
    import numpy as np

    raw = np.log1p(np.column_stack([recency, frequency, np.clip(monetary, 0, None)]).astype(float))
    spread = raw.std(axis=0)
    spread[spread == 0] = 1.0
    return (raw - raw.mean(axis=0)) / spread


def silhouette(
    matrix: np.ndarray, labels: np.ndarray, sample_size: int = SILHOUETTE_SAMPLE
) -> float:
    from sklearn.metrics import silhouette_score

    sample = sample_size if len(labels) > sample_size else None
    return float(silhouette_score(matrix, labels, sample_size=sample, random_state=RANDOM_STATE))


def evaluate(matrix: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Silhouette (higher is better) and Davies-Bouldin (lower is better), without DBSCAN's
    noise; ``None`` with a ``note`` when fewer than two clusters remain."""
    from sklearn.metrics import davies_bouldin_score

    kept = labels >= 0
    found = len(set(labels[kept].tolist()))
    if found < 2 or found >= kept.sum():
        return {
            "silhouette_score": None,
            "davies_bouldin_index": None,
            "note": f"{found} cluster(s): scores need at least two",
        }
    return {
        "silhouette_score": round(silhouette(matrix[kept], labels[kept]), 4),
        "davies_bouldin_index": round(float(davies_bouldin_score(matrix[kept], labels[kept])), 4),
        "silhouette_sample": min(int(kept.sum()), SILHOUETTE_SAMPLE),
    }


def kmeans(matrix: np.ndarray, clusters: int | None) -> tuple[np.ndarray, dict[str, Any]]:
    """k-means labels; without ``clusters`` the k of :data:`K_RANGE` whose clustering of a
    fixed sample of customers has the best silhouette."""
    import numpy as np
    from sklearn.cluster import KMeans

    def fitted(k: int, rows: np.ndarray) -> KMeans:
        return KMeans(n_clusters=k, n_init=3, random_state=RANDOM_STATE).fit(rows)

    parameters: dict[str, Any] = {"clusters": clusters, "chosen_by": "given"}
    if clusters is None:
        picker = np.random.default_rng(RANDOM_STATE)
        sample = matrix
        if len(matrix) > K_CHOICE_SAMPLE:
            sample = matrix[picker.choice(len(matrix), K_CHOICE_SAMPLE, replace=False)]
        scored = {
            k: silhouette(sample, fitted(k, sample).labels_)
            for k in K_RANGE
            if k < len(np.unique(sample, axis=0))
        }
        clusters = max(scored, key=scored.__getitem__)
        parameters = {
            "clusters": clusters,
            "chosen_by": "silhouette",
            "silhouette_by_k": {str(k): round(score, 4) for k, score in scored.items()},
        }
    return fitted(clusters, matrix).labels_, parameters


def k_distance_eps(matrix: np.ndarray, neighbours: int) -> float:
    """DBSCAN's eps at the knee of the sorted k-distance curve: the point farthest from the
    line joining the curve's ends."""
    import numpy as np
    from sklearn.neighbors import NearestNeighbors

    distances, _ = NearestNeighbors(n_neighbors=neighbours).fit(matrix).kneighbors(matrix)
    curve = np.sort(distances[:, -1])
    x = np.linspace(0.0, 1.0, len(curve))
    span = curve[-1] - curve[0]
    y = (curve - curve[0]) / span if span > 0 else np.zeros_like(curve)
    knee = int(np.argmax(x - y))
    return float(max(curve[knee], 1e-6))


def dbscan(matrix: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """DBSCAN with min_samples twice the dimensions and eps from the k-distance curve."""
    from sklearn.cluster import DBSCAN

    min_samples = 2 * matrix.shape[1]
    eps = k_distance_eps(matrix, min_samples)
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(matrix)
    found = len(set(labels.tolist()) - {-1})
    return labels, {
        "eps": round(eps, 4),
        "min_samples": min_samples,
        "clusters": found,
        "noise": int((labels == -1).sum()),
    }


def segment(
    recency: np.ndarray,
    frequency: np.ndarray,
    monetary: np.ndarray,
    algorithm: str,
    clusters: int | None = None,
) -> Segmentation:
    """Score, name and cluster the customers (at least two)."""
    import numpy as np
    import sklearn.cluster  # noqa: F401 - loads OpenMP before the thread limit is set
    from threadpoolctl import threadpool_limits

    r_score = quintile_scores(recency, higher_is_better=False)
    f_score = quintile_scores(frequency)
    m_score = quintile_scores(monetary)
    matrix = features(recency, frequency, monetary)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    # One thread: OpenMP's team spins on a busy shared machine and runs many times slower.
    with threadpool_limits(1):
        if algorithm == "kmeans":
            labels, parameters = kmeans(matrix, clusters)
        else:
            labels, parameters = dbscan(matrix)
        evaluation = evaluate(matrix, labels)
    return Segmentation(
        r_score=r_score,
        f_score=f_score,
        m_score=m_score,
        segment=named_segments(r_score, f_score, m_score),
        cluster=np.asarray(labels, dtype=int),
        clusters=int(parameters["clusters"]),
        parameters=parameters,
        evaluation=evaluation,
    )
