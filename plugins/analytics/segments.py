"""Customer segment services: each customer's RFM from the metrics layer, a segmentation run
stored per customer, and what routes, tools, metrics and the dashboard read back.

Customers are named as their orders name them (the orders plugin's ``customer`` dimension);
orders without a customer name are not segmented. Recency is counted in days from the
project's latest day with sales, so an imported history is scored as of its own end.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.orm import Session

from core.config import setting
from core.context import Context
from core.db import to_money
from core.errors import Invalid, NotFound
from core.metrics import Period
from core.metrics.engine import run_query
from core.metrics.periods import FIRST_YEAR
from core.metrics.query import MetricQuery
from plugins.analytics import rfm
from plugins.analytics.forecast import Progress
from plugins.analytics.models import CustomerSegment, SegmentRun
from plugins.analytics.sales import project_today

MIN_CUSTOMERS = 10
"""Quintiles and a choice of k need at least this many customers."""
INSERT_BATCH = 5000


def _query(
    session: Session,
    ctx: Context,
    metrics: tuple[str, ...],
    period: Period,
    group_by: tuple[str, ...],
) -> list[dict[str, Any]]:
    return run_query(
        session, ctx, MetricQuery(metrics=metrics, period=period, group_by=group_by)
    ).rows


def latest_sale_day(session: Session, ctx: Context) -> date | None:
    """The last day with revenue: the month first (over all time), then its day."""
    today = project_today(session, ctx.project_id)
    months = _query(
        session,
        ctx,
        ("paid_orders",),
        Period(date(FIRST_YEAR, 1, 1), today, "all time"),
        ("month",),
    )
    month = next((row["month"] for row in reversed(months) if row["paid_orders"]), None)
    if month is None:
        return None
    month_end = min((month + timedelta(days=32)).replace(day=1) - timedelta(days=1), today)
    days = _query(session, ctx, ("paid_orders",), Period(month, month_end, "month"), ("day",))
    return next(row["day"] for row in reversed(days) if row["paid_orders"])


def customer_rfm(session: Session, ctx: Context) -> tuple[date, dict[str, list[Any]]]:
    """(as of, {customer name: [last day, orders, revenue]}) over the segment window that ends
    on the latest day with sales: the revenue and orders metrics by customer and day."""
    as_of = latest_sale_day(session, ctx)
    if as_of is None:
        raise Invalid(
            "No orders with revenue to segment customers by",
            errors={"orders": ["the project has no orders that bring revenue"]},
        )
    start = as_of - timedelta(days=setting("NEBULO_SEGMENT_HISTORY_DAYS") - 1)
    rows = _query(
        session,
        ctx,
        ("revenue", "paid_orders"),
        Period(start, as_of, "segment window"),
        ("customer", "day"),
    )
    customers: dict[str, list[Any]] = {}
    for row in rows:
        name = row["customer"]
        if not name or not row["paid_orders"]:
            continue
        figures = customers.setdefault(name, [row["day"], 0, Decimal(0)])
        figures[0] = max(figures[0], row["day"])
        figures[1] += row["paid_orders"]
        figures[2] += row["revenue"]
    return as_of, customers


def run_segmentation(
    session: Session,
    ctx: Context,
    algorithm: str,
    clusters: int | None = None,
    progress: Progress | None = None,
) -> SegmentRun:
    """Score, name and cluster every customer and store the run as the project's current one."""
    import numpy as np

    report = progress or (lambda _percent, _message: None)
    report(5, "reading each customer's orders and revenue")
    as_of, customers = customer_rfm(session, ctx)
    if len(customers) < MIN_CUSTOMERS:
        raise Invalid(
            f"Segmenting needs at least {MIN_CUSTOMERS} customers with orders; "
            f"this project has {len(customers)}",
            errors={"customers": [f"needs {MIN_CUSTOMERS}, has {len(customers)}"]},
        )
    if clusters is not None and clusters >= len(customers):
        raise Invalid(errors={"clusters": [f"Fewer than the {len(customers)} customers"]})
    names = sorted(customers)
    recency = np.array([(as_of - customers[n][0]).days for n in names])
    frequency = np.array([customers[n][1] for n in names])
    monetary = np.array([float(customers[n][2]) for n in names])
    report(30, f"clustering {len(names)} customers with {algorithm}")
    result = rfm.segment(recency, frequency, monetary, algorithm, clusters)
    report(80, "storing each customer's segment")
    session.execute(
        update(SegmentRun)
        .where(SegmentRun.project_id == ctx.project_id, SegmentRun.is_current.is_(True))
        .values(is_current=False)
    )
    run = SegmentRun(
        id=uuid.uuid4(),
        project_id=ctx.project_id,
        algorithm=algorithm,
        parameters=result.parameters,
        evaluation=result.evaluation,
        clusters=result.clusters,
        customers=len(names),
        as_of=as_of,
        is_current=True,
    )
    session.add(run)
    session.flush()
    rows = [
        {
            "run_id": run.id,
            "project_id": ctx.project_id,
            "customer_name": name,
            "recency_days": int(recency[i]),
            "frequency": int(frequency[i]),
            "monetary": to_money(customers[name][2]),
            "r_score": int(result.r_score[i]),
            "f_score": int(result.f_score[i]),
            "m_score": int(result.m_score[i]),
            "segment": result.segment[i],
            "cluster": int(result.cluster[i]),
        }
        for i, name in enumerate(names)
    ]
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(insert(CustomerSegment), rows[start : start + INSERT_BATCH])
    session.flush()
    return run


def latest_run(session: Session, ctx: Context, algorithm: str | None = None) -> SegmentRun:
    """The project's newest run (of ``algorithm``), or 404 saying how to start one."""
    statement = select(SegmentRun).where(SegmentRun.project_id == ctx.project_id)
    if algorithm is not None:
        statement = statement.where(SegmentRun.algorithm == algorithm)
    run = session.scalar(statement.order_by(SegmentRun.created_at.desc()).limit(1))
    if run is None:
        which = f"{algorithm} " if algorithm else ""
        raise NotFound(
            f"No {which}segmentation has run in this project yet: start one with "
            f"POST /api/v1/analytics/{ctx.project_id}/segments/runs"
        )
    return run


def segment_members(run: SegmentRun, segment: str | None = None) -> Select:
    """The run's customers, biggest spenders first (seed 000's list)."""
    statement = select(CustomerSegment).where(
        CustomerSegment.run_id == run.id, CustomerSegment.project_id == run.project_id
    )
    if segment is not None:
        statement = statement.where(CustomerSegment.segment == segment)
    return statement.order_by(CustomerSegment.monetary.desc(), CustomerSegment.customer_name)


def run_summary(session: Session, run: SegmentRun) -> dict[str, Any]:
    """Seed 003's ``customer_segments``: customers and revenue per named segment (all eleven,
    empty ones too) and per cluster, with the run's evaluation."""
    counts = _grouped(session, run, CustomerSegment.segment)
    return {
        "run_id": run.id,
        "algorithm": run.algorithm,
        "as_of": run.as_of.isoformat(),
        "customers": run.customers,
        "created_at": run.created_at,
        "parameters": run.parameters,
        "segmentation": [
            {"RFMCategory": name, **counts.get(name, {"count": 0, "total_revenue": 0.0})}
            for name in rfm.SEGMENTS
        ],
        "clusters": [
            {"cluster": cluster, **figures}
            for cluster, figures in sorted(_grouped(session, run, CustomerSegment.cluster).items())
        ],
        "evaluation": run.evaluation,
    }


def _grouped(session: Session, run: SegmentRun, column: Any) -> dict[Any, dict[str, Any]]:
    rows = session.execute(
        select(column, func.count(), func.sum(CustomerSegment.monetary))
        .where(CustomerSegment.run_id == run.id)
        .group_by(column)
    )
    return {
        key: {"count": count, "total_revenue": float(to_money(total or 0))}
        for key, count, total in rows
    }


def canonical_segment(name: str) -> str:
    """A segment as a person types it ("at risk", "champions") -> its name (422 listing all)."""
    wanted = name.strip().lower().replace("’", "'")
    for segment in rfm.SEGMENTS:
        if wanted in (segment.lower(), segment.lower().rstrip("s")):
            return segment
    raise Invalid(
        errors={"segment": [f"Unknown segment {name!r}; one of: {', '.join(rfm.SEGMENTS)}"]}
    )
