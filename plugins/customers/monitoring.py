"""Watching churn risk: the riskiest customers, the risk dashboard and the alerts, whose
delivery outcome is copied from the webhook deliveries of their ``customer.risk_changed``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.context import Context
from core.db import scoped
from core.metrics import Period
from core.metrics.engine import project_timezone, run_queries, run_query
from core.metrics.periods import parse_period, today_in
from core.metrics.query import MetricQuery, MetricResult
from plugins.customers.models import RISK_TIERS, Alert, Customer
from plugins.customers.predictions import RISK_CHANGED, risk_thresholds


def riskiest_customers(
    session: Session, ctx: Context, limit: int = 10, min_score: float = 0.0
) -> list[Customer]:
    """Scored customers with risk at least ``min_score``, highest risk first."""
    return list(
        session.scalars(
            scoped(Customer, ctx.project_id)
            .where(Customer.risk_score >= min_score)
            .order_by(Customer.risk_score.desc(), Customer.id)
            .limit(limit)
        )
    )


def risk_tier_query(period: Period) -> MetricQuery:
    """The scored customers by risk tier: the dashboard's distribution. A figure about now, so
    ``period`` changes nothing; it is there for batching with dated queries."""
    return MetricQuery(("scored_customers",), period, group_by=("risk_tier",))


def risk_distribution(by_tier: MetricResult) -> dict[str, int]:
    """Customers per tier from :func:`risk_tier_query`'s answer, every tier named."""
    distribution = dict.fromkeys(RISK_TIERS, 0)
    for row in by_tier.rows:
        if row["risk_tier"] is not None:
            distribution[row["risk_tier"]] = row["scored_customers"]
    return distribution


def current_risk_distribution(session: Session, ctx: Context) -> dict[str, int]:
    """The low/medium/high distribution alone, for callers that need no dashboard."""
    timezone = project_timezone(session, ctx.project_id)
    today = parse_period("today", today_in(timezone))
    return risk_distribution(run_query(session, ctx, risk_tier_query(today), timezone=timezone))


def risk_dashboard(
    session: Session, ctx: Context, days: int = 30, limit: int = 10
) -> dict[str, Any]:
    """High-risk customers, the low/medium/high distribution of the scored customers and the
    daily average predicted risk over the last ``days`` days of the project's time zone. The
    figures are the ``scored_customers`` (by ``risk_tier``), ``average_predicted_risk`` and
    ``risk_predictions`` metrics, read in one batch, so they are what the metrics API says."""
    medium, high = risk_thresholds()
    timezone = project_timezone(session, ctx.project_id)
    period = parse_period(f"past {days} days", today_in(timezone))
    by_tier, by_day = run_queries(
        session,
        ctx,
        [
            risk_tier_query(period),
            MetricQuery(("average_predicted_risk", "risk_predictions"), period, group_by=("day",)),
        ],
        timezone=timezone,
    )
    trend = [
        {
            "date": row["day"],
            # Seed 002's average risk is a score from 0 to 1; the metric's is in percent.
            "average_risk": round(row["average_predicted_risk"] / 100, 4),
            "predictions": row["risk_predictions"],
        }
        for row in by_day.rows
        if row["risk_predictions"]
    ]
    return {
        "high_risk_customers": riskiest_customers(session, ctx, limit, min_score=high),
        "risk_distribution": risk_distribution(by_tier),
        "risk_trend": trend,
        "thresholds": {"medium": medium, "high": high},
    }


def list_alerts(session: Session, ctx: Context, args: dict[str, Any]) -> Select[tuple[Alert]]:
    """Alerts newest first, filtered as seed 002 does; delivery outcomes are brought up to date."""
    record_alert_outcomes(session, ctx.project_id)
    statement = scoped(Alert, ctx.project_id)
    if "customer_id" in args:
        statement = statement.where(Alert.customer_id == args["customer_id"])
    if "alert_type" in args:
        statement = statement.where(Alert.alert_type == args["alert_type"])
    if "was_sent" in args:
        statement = statement.where(Alert.was_sent.is_(args["was_sent"]))
    if "start_date" in args:
        statement = statement.where(
            Alert.created_at >= datetime.combine(args["start_date"], time(), tzinfo=UTC)
        )
    if "end_date" in args:
        end = datetime.combine(args["end_date"] + timedelta(days=1), time(), tzinfo=UTC)
        statement = statement.where(Alert.created_at < end)
    return statement.order_by(Alert.created_at.desc(), Alert.id)


def record_alert_outcomes(session: Session, project_id: uuid.UUID) -> None:
    """Copy the webhook delivery outcome onto every alert whose outcome is still open: sent
    once any delivery of its event succeeded, an error once every delivery failed."""
    from core.webhooks.models import DELIVERED, FAILED, WebhookDelivery

    open_alerts = session.scalars(
        scoped(Alert, project_id).where(Alert.was_sent.is_(False), Alert.error_message.is_(None))
    ).all()
    if not open_alerts:
        return
    statuses: dict[str, list[tuple[str, str | None]]] = {}
    for body, status, error in session.execute(
        select(WebhookDelivery.body, WebhookDelivery.status, WebhookDelivery.error).where(
            WebhookDelivery.project_id == project_id,
            WebhookDelivery.event_name == RISK_CHANGED,
            WebhookDelivery.created_at >= min(alert.created_at for alert in open_alerts),
        )
    ):
        alert_id = body.get("payload", {}).get("alert_id")
        statuses.setdefault(alert_id, []).append((status, error))
    for alert in open_alerts:
        deliveries = statuses.get(str(alert.id), [])
        if any(status == DELIVERED for status, _ in deliveries):
            alert.was_sent = True
        elif deliveries and all(status == FAILED for status, _ in deliveries):
            errors = "; ".join(error or "failed" for _, error in deliveries)
            alert.error_message = f"Webhook delivery failed: {errors}"[:500]
    session.flush()
