"""Watching churn risk: the riskiest customers, the risk dashboard and the alerts, whose
delivery outcome is copied from the webhook deliveries of their ``customer.risk_changed``."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.context import Context
from core.db import scoped, utcnow
from plugins.customers.models import Alert, Customer, RiskHistory
from plugins.customers.predictions import RISK_CHANGED, risk_thresholds, risk_tier


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


def _day(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def risk_dashboard(
    session: Session, ctx: Context, days: int = 30, limit: int = 10
) -> dict[str, Any]:
    """High-risk customers, the low/medium/high distribution and the daily average risk."""
    medium, high = risk_thresholds()
    tier = risk_tier(Customer.risk_score)
    distribution = dict.fromkeys(("low", "medium", "high"), 0)
    for name, count in session.execute(
        select(tier, func.count())
        .where(Customer.project_id == ctx.project_id, Customer.risk_score.is_not(None))
        .group_by(tier)
    ):
        distribution[name] = count
    since = datetime.combine(utcnow().date() - timedelta(days=days - 1), time(), tzinfo=UTC)
    day = _day(session, RiskHistory.timestamp)
    trend = [
        {
            "date": value if isinstance(value, date) else date.fromisoformat(value),
            "average_risk": round(float(average), 4),
            "predictions": count,
        }
        for value, average, count in session.execute(
            select(day, func.avg(RiskHistory.score), func.count())
            .where(RiskHistory.project_id == ctx.project_id, RiskHistory.timestamp >= since)
            .group_by(day)
            .order_by(day)
        )
    ]
    return {
        "high_risk_customers": riskiest_customers(session, ctx, limit, min_score=high),
        "risk_distribution": distribution,
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
