"""Persons seen by cameras, their visits, and the log of gallery changes other processes follow."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, IdMixin, ProjectScoped, TimestampMixin, utcnow

VECTOR_SIZE = 128
VECTOR_FORMAT = f"<{VECTOR_SIZE}f"  # little-endian float32, 512 bytes


def pack_vector(values: Sequence[float]) -> bytes:
    return struct.pack(VECTOR_FORMAT, *values)


def unpack_vector(data: bytes) -> list[float]:
    return list(struct.unpack(VECTOR_FORMAT, data))


class Person(IdMixin, ProjectScoped, TimestampMixin, Base):
    """A visitor of a project. ``vector`` (128 float32) and ``image_key`` are biometric data:
    kept until ``biometrics_at`` + the retention period, erased while the visits stay."""

    __tablename__ = "persons"

    full_name: Mapped[str | None] = mapped_column(String(200))
    phone_number: Mapped[str | None] = mapped_column(String(32))
    age: Mapped[int | None]
    gender: Mapped[str | None] = mapped_column(String(32))
    emotion: Mapped[str | None] = mapped_column(String(32))
    body_type: Mapped[str | None] = mapped_column(String(32))
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    image_key: Mapped[str | None] = mapped_column(String(200))
    biometrics_at: Mapped[datetime | None] = mapped_column(index=True)
    entry_time: Mapped[datetime | None]
    exit_time: Mapped[datetime | None]


class Visit(IdMixin, ProjectScoped, Base):
    """One detection: who, when, and what the camera saw (kept for statistics after erasure)."""

    __tablename__ = "person_visits"
    __table_args__ = (Index("ix_person_visits_project_entry", "project_id", "entry_time"),)

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    entry_time: Mapped[datetime]
    exit_time: Mapped[datetime | None]
    is_returning: Mapped[bool] = mapped_column(default=False)
    similarity: Mapped[float | None] = mapped_column(Float)
    age: Mapped[int | None]
    gender: Mapped[str | None] = mapped_column(String(32))
    emotion: Mapped[str | None] = mapped_column(String(32))
    body_type: Mapped[str | None] = mapped_column(String(32))


class PersonSummary(Base):
    """The ``ai_summary`` a provider last wrote of a person, with the fingerprint of the facts
    it was written from: a summary is reused while the facts (and the provider) stay the same."""

    __tablename__ = "person_summaries"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    facts_key: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GalleryChange(Base):
    """A vector added to or removed from a project's gallery, in commit-log order: every
    process's in-memory index catches up from the last ``id`` it applied (its watermark)."""

    __tablename__ = "person_gallery_changes"
    __table_args__ = (
        Index("ix_person_gallery_changes_project_id_id", "project_id", "id"),
        Index("ix_person_gallery_changes_project_id_created_at", "project_id", "created_at"),
        {"sqlite_autoincrement": True},  # an id is never reused: watermarks stay valid
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID]
    removed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def record_change(
    session: Session, project_id: uuid.UUID, person_id: uuid.UUID, *, removed: bool
) -> None:
    """Log a gallery change in the caller's transaction, so it exists exactly when it commits."""
    session.add(GalleryChange(project_id=project_id, person_id=person_id, removed=removed))


class IndexBuild(Base):
    """The background rebuild of a project's ANN graph: the job that last took it on, so
    that however many processes find a rebuild due, one is queued or running at a time."""

    __tablename__ = "person_index_builds"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[uuid.UUID | None]
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
