"""The sales forecast's computation: candidate models, rolling-origin backtest, the stored form.

Pure functions over a daily series (a numpy array, oldest day first); the services feed them
the project's daily revenue and store what they return. Candidates are statsforecast's
(Nixtla) seasonal naive, the floor any forecast must beat, and AutoETS, AutoTheta and
AutoARIMA, all with a weekly season. Each is fitted once at the backtest's first origin and
rolled forward over the later origins with its parameters kept (``forward``), then scored by
MASE; the best is refitted on the whole series. statsforecast and numpy are imported by the
functions that use them: the ``nebulo`` command starts without them.
"""

from __future__ import annotations

import logging
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Of the stored blob; a stored model of another version is refitted, never unpickled."""
SEASON = 7
LEVELS = (80, 95)
CANDIDATES = ("seasonal_naive", "auto_ets", "auto_theta", "auto_arima")
"""In order of simplicity: a tie goes to the simpler model."""
MIN_TRAINING_DAYS = 4 * SEASON
"""Days before the backtest's first origin: four weeks to see the weekly season."""

Progress = Callable[[int, str], None]


class TooLittleHistory(ValueError):
    """The series is shorter than the backtest needs."""

    def __init__(self, needed: int, given: int):
        super().__init__(f"needs at least {needed} days of history, has {given}")
        self.needed, self.given = needed, given


class UnreadableModel(ValueError):
    """A stored blob of another format version: refit instead of unpickling it."""


@dataclass
class FittedForecast:
    """The chosen model fitted on the whole series, with every candidate's backtest score."""

    model_name: str
    model: Any
    mase: dict[str, float | None]
    horizon: int
    windows: int


def minimum_days(windows: int, horizon: int) -> int:
    """The shortest history a backtest of ``windows`` x ``horizon`` days can run on."""
    return MIN_TRAINING_DAYS + windows * horizon


def make_model(name: str) -> Any:
    """A fresh statsforecast model; AutoARIMA's search is bounded so a fit takes seconds."""
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, SeasonalNaive

    if name == "seasonal_naive":
        return SeasonalNaive(season_length=SEASON)
    if name == "auto_ets":
        return AutoETS(season_length=SEASON)
    if name == "auto_theta":
        return AutoTheta(season_length=SEASON)
    if name == "auto_arima":
        return AutoARIMA(
            season_length=SEASON, approximation=True, max_p=3, max_q=3, max_P=1, max_Q=1
        )
    raise ValueError(f"unknown forecast model {name!r}")


def mase_scale(history: np.ndarray) -> float:
    """The in-sample mean absolute error of the seasonal naive forecast: MASE's denominator."""
    import numpy as np

    return float(np.mean(np.abs(history[SEASON:] - history[:-SEASON])))


def mase(actual: np.ndarray, predicted: np.ndarray, history: np.ndarray) -> float:
    """Mean absolute scaled error of a forecast against the history it was made from."""
    import numpy as np

    error = float(np.mean(np.abs(actual - predicted)))
    scale = mase_scale(history)
    if scale == 0.0:
        return 0.0 if error == 0.0 else float("inf")
    return error / scale


def backtest(
    series: np.ndarray, windows: int, horizon: int, progress: Progress | None = None
) -> dict[str, float | None]:
    """Each candidate's mean MASE over ``windows`` consecutive origins of ``horizon`` days at
    the end of ``series``; ``None`` for a candidate that failed to fit (logged)."""
    import numpy as np

    series = np.asarray(series, dtype=float)
    needed = minimum_days(windows, horizon)
    if len(series) < needed:
        raise TooLittleHistory(needed, len(series))
    first = len(series) - windows * horizon
    scores: dict[str, float | None] = {}
    for position, name in enumerate(CANDIDATES):
        if progress is not None:
            progress(10 + 70 * position // len(CANDIDATES), f"backtesting {name}")
        try:
            scores[name] = _rolled_mase(name, series, first, windows, horizon)
        except Exception:  # noqa: BLE001 - one failing candidate leaves the others to choose from
            log.warning("forecast candidate %s failed to fit", name, exc_info=True)
            scores[name] = None
    return scores


def _rolled_mase(name: str, series: np.ndarray, first: int, windows: int, horizon: int) -> float:
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_model(name).fit(series[:first])
        errors = []
        for window in range(windows):
            origin = first + window * horizon
            if window == 0:
                forecast = model.predict(horizon)["mean"]
            else:
                forecast = model.forward(series[:origin], horizon)["mean"]
            actual = series[origin : origin + horizon]
            errors.append(mase(actual, np.asarray(forecast, dtype=float), series[:origin]))
    return float(np.mean(errors))


def best_model(scores: dict[str, float | None]) -> str:
    """The candidate with the lowest backtest MASE (the simpler one on a tie)."""
    scored = [
        (score, CANDIDATES.index(name), name) for name, score in scores.items() if score is not None
    ]
    return min(scored)[2]


def fit(
    series: np.ndarray, windows: int, horizon: int, progress: Progress | None = None
) -> FittedForecast:
    """Backtest every candidate, then fit the best on the whole series."""
    import numpy as np

    scores = backtest(series, windows, horizon, progress)
    chosen = best_model(scores)
    if progress is not None:
        progress(85, f"fitting {chosen} on the whole history")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_model(chosen).fit(np.asarray(series, dtype=float))
    return FittedForecast(chosen, model, scores, horizon, windows)


def predict(model: Any, horizon: int) -> dict[str, np.ndarray]:
    """``horizon`` days after the fitted series: ``mean`` and ``lo-80`` ... ``hi-95``, never
    below zero (revenue is not negative)."""
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = model.predict(horizon, level=list(LEVELS))
    keys = ["mean", *(f"{side}-{level}" for level in LEVELS for side in ("lo", "hi"))]
    return {key: np.clip(np.asarray(raw[key], dtype=float), 0.0, None) for key in keys}


def dump(model: Any) -> bytes:
    return pickle.dumps({"format": FORMAT_VERSION, "model": model}, protocol=5)


def load(blob: bytes, format_version: int) -> Any:
    """The fitted model stored by :func:`dump`. Only blobs this code wrote are unpickled: the
    table is the plugin's own and the version is checked first."""
    if format_version != FORMAT_VERSION:
        raise UnreadableModel(
            f"stored in format {format_version}, this code reads {FORMAT_VERSION}"
        )
    return pickle.loads(blob)["model"]  # noqa: S301 - the plugin's own table, version checked
