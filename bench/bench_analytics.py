"""Analytics: segmenting 100,000 customers, fitting the sales forecast with its backtest on
three years of daily sales, and predict-sales answered from the stored model, each beside
the same computation written directly with pandas, numpy, scikit-learn and statsforecast.

Data are generated (no downloads): customers with geometric order counts, log-normal baskets
and uniform recency; daily revenue with trend, a weekly rhythm, a yearly wave and noise.
Baselines: for segmenting, pandas ranks and quintiles, the R x FM names by a lookup table,
numpy's log-standardised matrix and scikit-learn's k-means with k picked by silhouette on the
same sample size, which is what a capable analyst writes in a notebook; for the forecast,
statsforecast's own ``StatsForecast.cross_validation`` (same candidates, windows and horizon,
``refit=False`` like ours) with MASE in pandas and the winner refitted; for predict-sales,
unpickling the stored model and calling its ``predict`` in the same process, without HTTP,
authentication or JSON. Real data: the CDNOW log (``../shared/data``) imported as orders
through the orders import service; the chosen model's backtest MASE on its daily revenue must
be below seasonal naive's. ``BENCH_ANALYTICS_CUSTOMERS`` segments fewer customers.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import time
import uuid
import warnings
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import select

from bench import Figure, Target, median_ms, median_of
from plugins.analytics import forecast, rfm

CUSTOMERS = int(os.environ.get("BENCH_ANALYTICS_CUSTOMERS", "100000"))
FORECAST_DAYS = 3 * 365
SEGMENT_RUNS = FORECAST_RUNS = 3
PREDICT_RUNS = 25
SEGMENT_SECONDS_TARGET = 10.0
FORECAST_SECONDS_TARGET = 5.0
PREDICT_MS_TARGET = 50.0
WINDOWS, HORIZON = 3, 14
REQUESTED_DAYS = 30
CDNOW = Path(__file__).resolve().parents[2] / "shared" / "data" / "CDNOW_master.txt"
CDNOW_DAYS = (date(1997, 1, 1), date(1998, 6, 30))


def _customers(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(9)
    frequency = rng.geometric(0.35, count)
    monetary = np.round(frequency * rng.lognormal(3.2, 0.6, count), 2)
    recency = rng.integers(0, 720, count)
    return recency, frequency, monetary


def _daily_sales(days: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(days)
    weekly = np.array([0.7, 0.8, 0.9, 1.0, 1.3, 1.7, 1.2])[t % 7]
    level = (800 + 0.4 * t) * weekly * (1 + 0.15 * np.sin(2 * np.pi * t / 365))
    return np.clip(level + rng.normal(0, 60, days), 0, None)


def _pandas_segments(recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray) -> None:
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    frame = pd.DataFrame({"r": recency, "f": frequency, "m": monetary})
    scores = {}
    for column, ascending in (("r", False), ("f", True), ("m", True)):
        share = frame[column].rank(method="average", pct=True, ascending=ascending)
        scores[column] = np.clip(np.ceil(share * 5), 1, 5).astype(int)
    fm = (scores["f"] + scores["m"] + 1) // 2
    lookup = {(r, c): rfm.GRID[r][c - 1] for r in range(1, 6) for c in range(1, 6)}
    frame["segment"] = [lookup[pair] for pair in zip(scores["r"], fm, strict=True)]
    logged = np.log1p(frame[["r", "f", "m"]].to_numpy(float))
    matrix = (logged - logged.mean(axis=0)) / logged.std(axis=0)
    rng = np.random.default_rng(0)
    sample = matrix[rng.choice(len(matrix), rfm.K_CHOICE_SAMPLE, replace=False)]
    best = max(
        rfm.K_RANGE,
        key=lambda k: silhouette_score(
            sample, KMeans(k, n_init=3, random_state=0).fit_predict(sample)
        ),
    )
    labels = KMeans(best, n_init=3, random_state=0).fit_predict(matrix)
    silhouette_score(matrix, labels, sample_size=rfm.SILHOUETTE_SAMPLE, random_state=0)
    davies_bouldin_score(matrix, labels)


def _segment_figure() -> Figure:
    import sklearn.cluster  # noqa: F401 - the thread limit below applies to loaded libraries
    from threadpoolctl import threadpool_limits

    recency, frequency, monetary = _customers(CUSTOMERS)

    def ours() -> float:
        started = time.perf_counter()
        result = rfm.segment(recency, frequency, monetary, "kmeans")
        assert len(result.segment) == CUSTOMERS
        return time.perf_counter() - started

    def theirs() -> float:
        started = time.perf_counter()
        with threadpool_limits(1):
            _pandas_segments(recency, frequency, monetary)
        return time.perf_counter() - started

    ours()  # imports and warm-up, for both
    return Figure(
        f"segment {CUSTOMERS:,} customers: RFM, 11 names, k-means (k by silhouette), scores",
        median_of(SEGMENT_RUNS, ours),
        "s",
        median_of(SEGMENT_RUNS, theirs),
        "pandas + scikit-learn by hand",
        SEGMENT_RUNS,
        Target("<", SEGMENT_SECONDS_TARGET),
    )


def _statsforecast_directly(series: np.ndarray) -> None:
    import pandas as pd
    from statsforecast import StatsForecast

    frame = pd.DataFrame(
        {
            "unique_id": "shop",
            "ds": pd.date_range("2023-01-01", periods=len(series), freq="D"),
            "y": series,
        }
    )
    names = list(forecast.CANDIDATES)
    models = [forecast.make_model(name) for name in names]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = StatsForecast(models=models, freq="D", n_jobs=1).cross_validation(
            df=frame, h=HORIZON, n_windows=WINDOWS, step_size=HORIZON, refit=False
        )
        mase = {}
        for name, model in zip(names, models, strict=True):
            column = repr(model)
            errors = []
            for cutoff, window in cv.groupby("cutoff"):
                history = frame.loc[frame["ds"] <= cutoff, "y"].to_numpy()
                scale = np.mean(np.abs(history[7:] - history[:-7]))
                errors.append(np.mean(np.abs(window["y"] - window[column])) / scale)
            mase[name] = float(np.mean(errors))
        best = min(mase, key=mase.__getitem__)
        forecast.make_model(best).fit(series)


def _forecast_figure() -> Figure:
    series = _daily_sales(FORECAST_DAYS)

    def ours() -> float:
        started = time.perf_counter()
        fitted = forecast.fit(series, WINDOWS, HORIZON)
        assert fitted.mase[fitted.model_name] <= fitted.mase["seasonal_naive"]
        return time.perf_counter() - started

    def theirs() -> float:
        started = time.perf_counter()
        _statsforecast_directly(series)
        return time.perf_counter() - started

    ours()
    theirs()
    return Figure(
        f"forecast: 4 candidates backtested ({WINDOWS}x{HORIZON} days) + best refitted, "
        f"{FORECAST_DAYS} days",
        median_of(FORECAST_RUNS, ours),
        "s",
        median_of(FORECAST_RUNS, theirs),
        "StatsForecast.cross_validation + MASE in pandas",
        FORECAST_RUNS,
        Target("<", FORECAST_SECONDS_TARGET),
    )


def _predict_figure() -> list[Figure]:
    from core import migrate
    from core.app import create_app
    from core.config import load_settings
    from core.testing import ApiClient
    from plugins.analytics import sales
    from plugins.analytics.models import SalesForecast
    from plugins.orders.importing import NewOrder, bulk_insert_orders
    from plugins.orders.services import ItemLine

    folder = Path(tempfile.mkdtemp(prefix="bench-analytics-"))
    settings = load_settings(
        {},
        env="testing",
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
        database_url=f"sqlite:///{folder / 'bench.db'}",
        log_level="WARNING",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        plugin={"NEBULO_RATE_LIMIT_PREDICT_SALES": "1000000/minute"},
    )
    app = create_app(settings)
    migrate.upgrade(app)
    state = app.extensions["nebulo"]
    client = app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    project_id = uuid.UUID(api.project(owner)["id"])
    yesterday = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    orders = [
        NewOrder(
            yesterday - timedelta(days=FORECAST_DAYS - n), [ItemLine("Day", 1, Decimal(f"{v:.2f}"))]
        )
        for n, v in enumerate(_daily_sales(FORECAST_DAYS))
    ]
    with app.app_context():
        with state.db.session_scope() as session:
            bulk_insert_orders(session, project_id, orders)
        with state.db.session_scope() as session:
            sales.fit_sales_forecast(session, sales.system_context(project_id))
        with state.db.session_scope() as session:
            stored = session.scalar(
                select(SalesForecast).where(SalesForecast.project_id == project_id)
            )
            blob, history_end = stored.model, stored.history_end
    today = history_end + timedelta(days=1)
    days = [today + timedelta(days=n) for n in range(REQUESTED_DAYS)]
    url = f"/api/v1/analytics/{project_id}/predict-sales?" + "&".join(
        f"future_dates={day.isoformat()}" for day in days
    )

    def through_the_api() -> None:
        response = client.get(url, headers=owner)
        assert response.status_code == 200, response.get_json()

    def unpickled_directly() -> None:
        model = pickle.loads(blob)["model"]  # noqa: S301 - our own blob, made just above
        forecast.predict(model, (days[-1] - history_end).days)

    figure = Figure(
        f"predict-sales of {REQUESTED_DAYS} days from the stored model, through the API",
        median_ms(PREDICT_RUNS, through_the_api),
        "ms",
        median_ms(PREDICT_RUNS, unpickled_directly),
        "unpickle + predict in process",
        PREDICT_RUNS,
        Target("<", PREDICT_MS_TARGET),
    )
    real = _cdnow_figure(app, api.project(owner, name="CDNOW"))
    state.jobs.stop()
    state.db.dispose()
    return [figure, *real]


def _cdnow_figure(app, project: dict) -> list[Figure]:
    """The real CDNOW log (../shared/data) imported through the orders import service: the
    chosen model's backtest MASE on its daily revenue beside seasonal naive's."""
    from core.metrics import Period
    from plugins.analytics import sales
    from plugins.orders.importing import import_orders

    if not CDNOW.exists():
        print(f"{CDNOW} is not there: the real-data figure is left out")
        return []
    rows = []
    with CDNOW.open() as handle:
        next(handle)
        for line_number, line in enumerate(handle, start=2):
            customer, day, _cds, dollars = line.split()
            rows.append(
                (
                    line_number,
                    {
                        "external_id": f"cdnow-{line_number}",
                        "provider": "cdnow",
                        "order_date": f"{day[:4]}-{day[4:6]}-{day[6:]}T12:00:00+00:00",
                        "customer_name": f"CDNOW {customer}",
                        "product_name": "Compact discs",
                        "quantity": "1",
                        "unit_price": dollars,
                    },
                )
            )
    state = app.extensions["nebulo"]
    with app.app_context(), state.db.session_scope() as session:
        ctx = sales.system_context(uuid.UUID(project["id"]))
        report = import_orders(session, ctx, rows)
        assert not report.errors, report.errors[:3]
        revenue = sales.daily_revenue(session, ctx, Period(*CDNOW_DAYS, "CDNOW"))
    scores = forecast.backtest(np.asarray(revenue), 4, HORIZON)
    best = forecast.best_model(scores)
    return [
        Figure(
            f"CDNOW ({report.orders:,} orders imported), daily revenue: {best}'s backtest MASE",
            scores[best],
            "MASE",
            scores["seasonal_naive"],
            "seasonal naive's MASE",
            1,
            Target("<", 1.0, on="ratio"),
        )
    ]


def run() -> list[Figure]:
    return [_segment_figure(), _forecast_figure(), *_predict_figure()]
