"""The memberships plugin's tables. After a change: nebulo db revision --plugin memberships."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, IdMixin, ProjectScoped, TimestampMixin

TIER_NAME_LENGTH = 40


class Membership(IdMixin, ProjectScoped, TimestampMixin, Base):
    """A customer's membership in one tier for a period of days (both ends included)."""

    __tablename__ = "memberships"
    __table_args__ = (CheckConstraint("end_period > start_period", name="end_after_start"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    start_period: Mapped[date] = mapped_column(Date)
    end_period: Mapped[date] = mapped_column(Date)
    tier: Mapped[str] = mapped_column(String(TIER_NAME_LENGTH))
    # Set by the daily expiry job once, when the membership.expired event is published.
    expired_at: Mapped[datetime | None]

    def status_on(self, day: date) -> str:
        """``upcoming``, ``active`` or ``ended`` on ``day``."""
        if day < self.start_period:
            return "upcoming"
        return "active" if day <= self.end_period else "ended"


class MembershipTier(IdMixin, ProjectScoped, Base):
    """One tier of a project's list; a project without rows uses the default list."""

    __tablename__ = "membership_tiers"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    name: Mapped[str] = mapped_column(String(TIER_NAME_LENGTH))
    position: Mapped[int] = mapped_column(Integer)
