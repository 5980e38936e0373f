"""Projects (the tenants), the memberships of users in them and pending invitations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, IdMixin, ProjectScoped, TimestampMixin, utcnow


class Project(IdMixin, TimestampMixin, Base):
    __tablename__ = "projects"

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)


class ProjectMember(Base):
    __tablename__ = "project_members"
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The project a user's requests act in where the path names none (the compatibility
    # routes of the original systems); at most one per user, see set_default_project.
    is_default: Mapped[bool] = mapped_column(default=False, server_default=false())


class Invitation(IdMixin, ProjectScoped, Base):
    """A person invited by email. It becomes a membership when that email's account gets
    tokens (registers and logs in, or logs in or refreshes), so that adding someone never
    tells the inviter whether the email has an account."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("project_id", "email"),)

    email: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
