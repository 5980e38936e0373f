"""The analytics plugin's tables: the fitted sales forecast of each project, the forecast days
it predicts, and segmentation runs with each customer's segment.

After a change: nebulo db revision --plugin analytics."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, IdMixin, ProjectScoped, utcnow

CUSTOMER_NAME_LENGTH = 200
"""As long as an order's ``customer_name``: segments are of customers as orders name them."""


class SalesForecast(IdMixin, ProjectScoped, Base):
    """The project's fitted forecast model (one row per project, replaced by each refit)."""

    __tablename__ = "sales_forecasts"
    __table_args__ = (UniqueConstraint("project_id"),)

    model_name: Mapped[str] = mapped_column(String(40))
    format_version: Mapped[int]
    """Of the pickled ``model`` (plugins.analytics.forecast.FORMAT_VERSION when it was made)."""
    model: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    backtest: Mapped[dict[str, Any]] = mapped_column(JSON)
    history_start: Mapped[date] = mapped_column(Date)
    history_end: Mapped[date] = mapped_column(Date)
    history_days: Mapped[int]
    fitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    stale_since: Mapped[datetime | None]
    """Set when orders change after the fit; the refit job clears it."""
    refit_queued_at: Mapped[datetime | None]
    """When the periodic tick queued a refit of a stale forecast (cleared by the fit)."""


class ForecastDay(Base):
    """One predicted day of the project's current forecast: what the ``forecast_revenue``
    metric sums. ``starts_at`` is the day's local midnight as a UTC instant."""

    __tablename__ = "sales_forecast_days"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    starts_at: Mapped[datetime] = mapped_column(primary_key=True)
    revenue: Mapped[Decimal]
    low_80: Mapped[Decimal]
    high_80: Mapped[Decimal]
    low_95: Mapped[Decimal]
    high_95: Mapped[Decimal]


class SegmentRun(IdMixin, ProjectScoped, Base):
    """One segmentation of the project's customers: its algorithm, parameters and scores."""

    __tablename__ = "segment_runs"
    __table_args__ = (Index("ix_segment_runs_project_id_created_at", "project_id", "created_at"),)

    algorithm: Mapped[str] = mapped_column(String(16))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON)
    clusters: Mapped[int]
    customers: Mapped[int]
    as_of: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_current: Mapped[bool] = mapped_column(default=False)
    """The project's latest run: the one metrics and tools read."""


class CustomerSegment(ProjectScoped, Base):
    """A customer's RFM figures, scores, named segment and cluster in one run."""

    __tablename__ = "customer_segments"

    run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("segment_runs.id", ondelete="CASCADE"), primary_key=True
    )
    customer_name: Mapped[str] = mapped_column(String(CUSTOMER_NAME_LENGTH), primary_key=True)
    recency_days: Mapped[int]
    frequency: Mapped[int]
    monetary: Mapped[Decimal]
    r_score: Mapped[int]
    f_score: Mapped[int]
    m_score: Mapped[int]
    segment: Mapped[str] = mapped_column(String(40))
    cluster: Mapped[int]
    """-1 is DBSCAN's noise."""
