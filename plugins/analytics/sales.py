"""Sales forecast services: the daily revenue history, fitting and storing the model, marking
it stale when orders change, and answering predict-sales from the stored model.

Daily revenue comes from the metrics layer (the orders plugin's ``revenue`` grouped by day in
the project's time zone); the numbers are crunched in :mod:`plugins.analytics.forecast`.
Routes, the assistant tool, the jobs, the CLI and the demo all call these functions.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from core.config import setting
from core.context import Context
from core.db import to_money, utcnow
from core.errors import Conflict, Invalid
from core.metrics import Period
from core.metrics.engine import project_timezone, run_query
from core.metrics.periods import today_in
from core.metrics.query import MetricQuery
from plugins.analytics import forecast
from plugins.analytics.models import ForecastDay, SalesForecast

MAX_DAYS_AHEAD = 365
STORED_DAYS = 90
"""Days after the history the fit stores as ``forecast_revenue`` rows (the metric, the tool)."""
MAX_DATES = 366
MAX_FORECAST_DAYS = 90
"""The most days ahead the tools and the forecast/days route answer at once."""


def system_context(project_id: uuid.UUID) -> Context:
    """The plugin acting for the project itself (jobs, CLI, demo): every permission."""
    permissions = frozenset(current_app.extensions["nebulo"].registry.permissions)
    return Context(project_id=project_id, permissions=permissions, role="owner")


def project_today(session: Session, project_id: uuid.UUID) -> date:
    return today_in(project_timezone(session, project_id))


def daily_revenue(session: Session, ctx: Context, period: Period) -> list[float]:
    """Revenue of each day of ``period`` (zeros included), from the metrics layer."""
    result = run_query(
        session, ctx, MetricQuery(metrics=("revenue",), period=period, group_by=("day",))
    )
    return [float(row["revenue"]) for row in result.rows]


def sales_history(session: Session, ctx: Context) -> tuple[date, list[float]]:
    """(first day, daily revenue) from the first day with sales to yesterday, within the
    ``NEBULO_FORECAST_HISTORY_DAYS`` window; today is not over, so it is left out."""
    end = project_today(session, ctx.project_id) - timedelta(days=1)
    start = end - timedelta(days=setting("NEBULO_FORECAST_HISTORY_DAYS") - 1)
    values = daily_revenue(session, ctx, Period(start, end, "sales history"))
    first = next((index for index, value in enumerate(values) if value != 0.0), len(values))
    return start + timedelta(days=first), values[first:]


def backtest_shape() -> tuple[int, int]:
    """(windows, horizon in days) of the rolling-origin backtest."""
    return setting("NEBULO_FORECAST_BACKTEST_WINDOWS"), setting("NEBULO_FORECAST_BACKTEST_DAYS")


def check_history(session: Session, ctx: Context) -> tuple[date, list[float]]:
    """The history, or 422 saying how many days of sales a forecast needs."""
    first, values = sales_history(session, ctx)
    shortfall = history_shortfall(first, values)
    if shortfall:
        raise Invalid(shortfall[0], errors={"history": [shortfall[1]]})
    return first, values


def history_shortfall(first: date | None, values: list[float]) -> tuple[str, str] | None:
    """What a forecast lacks, as (sentence, short form), or None with enough days of sales."""
    needed = forecast.minimum_days(*backtest_shape())
    if len(values) >= needed:
        return None
    since = f" (sales since {first})" if values else ""
    return (
        f"A sales forecast needs at least {needed} days of sales history up to yesterday; "
        f"this project has {len(values)}{since}",
        f"needs {needed} days, has {len(values)}",
    )


def fit_sales_forecast(
    session: Session, ctx: Context, progress: forecast.Progress | None = None
) -> SalesForecast:
    """Choose and fit the best model on the project's daily revenue, store it with the
    days it predicts. Orders that arrive during the fit leave the stored model stale."""
    import numpy as np

    started = utcnow()
    report = progress or (lambda _percent, _message: None)
    report(5, "reading daily revenue")
    first, values = check_history(session, ctx)
    windows, horizon = backtest_shape()
    fitted = forecast.fit(np.asarray(values, dtype=float), windows, horizon, report)
    report(95, "storing the model")
    history_end = first + timedelta(days=len(values) - 1)
    row = session.scalar(
        select(SalesForecast).where(SalesForecast.project_id == ctx.project_id).with_for_update()
    )
    if row is None:
        row = SalesForecast(project_id=ctx.project_id)
        session.add(row)
    row.model_name = fitted.model_name
    row.format_version = forecast.FORMAT_VERSION
    row.model = forecast.dump(fitted.model)
    row.backtest = {
        "metric": "MASE",
        "windows": windows,
        "horizon_days": horizon,
        "candidates": fitted.mase,
    }
    row.history_start, row.history_end, row.history_days = first, history_end, len(values)
    row.fitted_at = utcnow()
    row.refit_queued_at = None
    if row.stale_since is not None and row.stale_since <= started:
        row.stale_since = None
    _store_days(session, ctx, history_end, forecast.predict(fitted.model, STORED_DAYS))
    session.flush()
    return row


def _store_days(session: Session, ctx: Context, history_end: date, path: dict[str, Any]) -> None:
    zone = ZoneInfo(project_timezone(session, ctx.project_id))
    session.execute(delete(ForecastDay).where(ForecastDay.project_id == ctx.project_id))
    rows = []
    for index in range(len(path["mean"])):
        day = history_end + timedelta(days=index + 1)
        rows.append(
            {
                "project_id": ctx.project_id,
                "starts_at": datetime.combine(day, time(), zone).astimezone(ZoneInfo("UTC")),
                "revenue": to_money(float(path["mean"][index])),
                "low_80": to_money(float(path["lo-80"][index])),
                "high_80": to_money(float(path["hi-80"][index])),
                "low_95": to_money(float(path["lo-95"][index])),
                "high_95": to_money(float(path["hi-95"][index])),
            }
        )
    session.execute(insert(ForecastDay), rows)


def current_forecast(session: Session, ctx: Context) -> SalesForecast | None:
    return session.scalar(select(SalesForecast).where(SalesForecast.project_id == ctx.project_id))


def is_stale(session: Session, row: SalesForecast) -> bool:
    """Orders changed since the fit, or whole days have passed that it has not seen."""
    yesterday = project_today(session, row.project_id) - timedelta(days=1)
    return row.stale_since is not None or row.history_end < yesterday


def describe(session: Session, row: SalesForecast) -> dict[str, Any]:
    """What a caller is told about the stored model: which, how good, fitted on what."""
    candidates = row.backtest["candidates"]
    return {
        "model": row.model_name,
        "backtest": {
            **row.backtest,
            "mase": candidates[row.model_name],
            "seasonal_naive_mase": candidates.get("seasonal_naive"),
        },
        "history": {
            "start": row.history_start.isoformat(),
            "end": row.history_end.isoformat(),
            "days": row.history_days,
        },
        "fitted_at": row.fitted_at,
        "stale": is_stale(session, row),
    }


def parse_future_dates(texts: Sequence[str], today: date) -> list[date]:
    """The requested days: ISO dates from today to 365 days ahead (422 naming each bad one)."""
    if not texts:
        raise Invalid(errors={"future_dates": ["Give at least one date (YYYY-MM-DD)"]})
    if len(texts) > MAX_DATES:
        raise Invalid(errors={"future_dates": [f"At most {MAX_DATES} dates"]})
    problems, dates = [], []
    last = today + timedelta(days=MAX_DAYS_AHEAD)
    for text in texts:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            problems.append(f"{text!r} is not a date (YYYY-MM-DD)")
            continue
        if day < today:
            problems.append(f"{day} is in the past (today is {today})")
        elif day > last:
            problems.append(f"{day} is more than {MAX_DAYS_AHEAD} days ahead (last: {last})")
        else:
            dates.append(day)
    if problems:
        raise Invalid("Some dates cannot be forecast", errors={"future_dates": problems})
    return dates


def predict_sales(session: Session, ctx: Context, texts: Sequence[str]) -> dict[str, Any]:
    """Seed 000's ``{"predictions": [...]}`` for the requested days, with each day's 80 % and
    95 % intervals and the stored model's name and backtest accuracy."""
    dates = parse_future_dates(texts, project_today(session, ctx.project_id))
    row = current_forecast(session, ctx)
    if row is None:
        # no model is the project's state, not a bad request: 409 either way, saying what to do
        shortfall = history_shortfall(*sales_history(session, ctx))
        if shortfall:
            raise Conflict(
                f"No sales forecast yet. {shortfall[0]}", errors={"history": [shortfall[1]]}
            )
        raise Conflict(
            "No sales forecast has been fitted for this project yet: start one with "
            f"POST /api/v1/analytics/{ctx.project_id}/forecast/refit"
        )
    try:
        model = forecast.load(row.model, row.format_version)
    except forecast.UnreadableModel:
        raise Conflict(
            "The stored forecast was made by another version of the analytics plugin: refit it"
        ) from None
    path = forecast.predict(model, max((day - row.history_end).days for day in dates))
    days = []
    for day in dates:
        index = (day - row.history_end).days - 1
        days.append(
            {
                "date": day.isoformat(),
                "revenue": round(float(path["mean"][index]), 2),
                **{
                    f"{bound}_{level}": round(float(path[f"{side}-{level}"][index]), 2)
                    for level in forecast.LEVELS
                    for bound, side in (("low", "lo"), ("high", "hi"))
                },
            }
        )
    return {"predictions": [day["revenue"] for day in days], "days": days, **describe(session, row)}


def forecast_total(session: Session, ctx: Context, days: int) -> dict[str, Any]:
    """Predicted revenue of the next ``days`` days from today, from the stored forecast."""
    today = project_today(session, ctx.project_id)
    answer = predict_sales(
        session, ctx, [(today + timedelta(days=n)).isoformat() for n in range(days)]
    )
    predictions = answer.pop("predictions")  # the days hold the same figures
    return {
        "from": today.isoformat(),
        "to": (today + timedelta(days=days - 1)).isoformat(),
        "total": round(sum(predictions), 2),
        **answer,
    }


def mark_stale(session: Session, project_id: uuid.UUID) -> None:
    """Orders changed: the stored forecast no longer saw everything (the next refit job run
    fits it again). Only the first change is recorded, so a burst of orders costs nothing."""
    session.execute(
        update(SalesForecast)
        .where(SalesForecast.project_id == project_id, SalesForecast.stale_since.is_(None))
        .values(stale_since=utcnow())
    )


def _stale() -> Any:
    """Orders changed since the fit, or it has not seen yesterday (by UTC, a day's margin)."""
    cutoff = utcnow().date() - timedelta(days=2)
    return or_(SalesForecast.stale_since.is_not(None), SalesForecast.history_end < cutoff)


def stale_projects(session: Session) -> list[uuid.UUID]:
    """Projects whose stored forecast is stale."""
    return list(session.scalars(select(SalesForecast.project_id).where(_stale())))


def claim_stale_refits(session: Session, now: datetime) -> list[uuid.UUID]:
    """Projects whose stale forecast is due a refit, claimed in this transaction: fitted at
    least ``NEBULO_FORECAST_REFIT_MINUTES`` ago and not queued within that time (a queued
    refit that was lost is queued again after it). Concurrent callers claim each once."""
    wait = timedelta(minutes=setting("NEBULO_FORECAST_REFIT_MINUTES"))
    due = and_(
        _stale(),
        SalesForecast.fitted_at <= now - wait,
        or_(SalesForecast.refit_queued_at.is_(None), SalesForecast.refit_queued_at <= now - wait),
    )
    claimed = []
    for forecast_id, project_id in session.execute(
        select(SalesForecast.id, SalesForecast.project_id).where(due)
    ).all():
        taken = session.execute(
            update(SalesForecast)
            .where(SalesForecast.id == forecast_id, due)
            .values(refit_queued_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken == 1:
            claimed.append(project_id)
    return claimed
