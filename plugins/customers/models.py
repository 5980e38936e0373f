"""Customers, their risk history, churn alerts and the trained churn-model versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, IdMixin, ProjectScoped, utcnow

RISK_TIERS = ("low", "medium", "high")


class Customer(IdMixin, ProjectScoped, Base):
    """One customer of a project: contact, channel identities, churn features and risk."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("project_id", "email"),
        UniqueConstraint("project_id", "shopify_customer_id"),
        UniqueConstraint("project_id", "whatsapp_phone"),
        UniqueConstraint("project_id", "telegram_chat_id"),
        Index("ix_customers_project_risk", "project_id", "risk_score"),
    )

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(16), index=True)
    age: Mapped[int | None]
    tenure: Mapped[int | None]
    balance: Mapped[Decimal | None]
    products: Mapped[int | None]
    credit_card: Mapped[bool | None]
    active: Mapped[bool | None]
    salary: Mapped[Decimal | None]
    credit_score: Mapped[int | None]
    geography: Mapped[str | None] = mapped_column(String(64))
    gender: Mapped[str | None] = mapped_column(String(32))
    churned: Mapped[bool | None]
    shopify_customer_id: Mapped[str | None] = mapped_column(String(64))
    whatsapp_phone: Mapped[str | None] = mapped_column(String(16))
    telegram_chat_id: Mapped[str | None] = mapped_column(String(64))
    risk_score: Mapped[float | None] = mapped_column(Float)
    risk_tier: Mapped[str | None] = mapped_column(String(8))
    last_updated: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelIdentity(IdMixin, ProjectScoped, Base):
    """A customer's id on a channel without a column of its own on ``customers`` (a
    third-party connector's messenger); Shopify, WhatsApp and Telegram keep their columns."""

    __tablename__ = "customer_channel_identities"
    __table_args__ = (UniqueConstraint("project_id", "channel", "identity"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(64))
    identity: Mapped[str] = mapped_column(String(255))


class RiskHistory(ProjectScoped, Base):
    """One scored prediction of a customer's churn risk.

    An append-only series keyed by insertion order: a batch adds 100,000 points at a time, and
    an increasing integer key appends to its index where a random UUID would write all over it.
    The points are only ever read by customer or by project and time, never by key.

    A batch prediction's points carry its job id, unique with the customer: a retried batch
    skips the customers it already scored and can never record one twice."""

    __tablename__ = "customer_risk_history"
    __table_args__ = (
        Index("ix_customer_risk_history_customer_time", "customer_id", "timestamp"),
        Index("ix_customer_risk_history_project_time", "project_id", "timestamp"),
        Index(
            "uq_customer_risk_history_batch_customer", "batch_job_id", "customer_id", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    model_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("churn_model_versions.id", ondelete="SET NULL")
    )
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)
    batch_job_id: Mapped[uuid.UUID | None]
    """The batch prediction job that recorded the point; none for a single prediction."""


class Alert(IdMixin, ProjectScoped, Base):
    """A customer crossed into high risk; ``was_sent`` records the webhook delivery outcome."""

    __tablename__ = "customer_alerts"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    alert_type: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(500))
    risk_score: Mapped[float] = mapped_column(Float)
    was_sent: Mapped[bool] = mapped_column(default=False)
    error_message: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ModelVersion(IdMixin, ProjectScoped, Base):
    """A trained churn pipeline, stored in the database so every worker serves the same one."""

    __tablename__ = "churn_model_versions"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    version: Mapped[int]
    pipeline: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    feature_importance: Mapped[dict[str, Any]] = mapped_column(JSON)
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)
    training_rows: Mapped[int]
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_active: Mapped[bool] = mapped_column(default=False)
