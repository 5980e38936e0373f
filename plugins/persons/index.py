"""The vector index: one small interface, an exact numpy implementation, and the gallery that
keeps one index per project in step with the database (the source of truth).

An index is built lazily from the ``persons`` table the first time a project is searched,
then caught up before every search from ``person_gallery_changes`` past its watermark, so a
person added or erased by another web or worker process is seen on the next search.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.db import utcnow
from plugins.persons.models import GalleryChange, Person

LATE_COMMIT_WINDOW = timedelta(seconds=10)
"""How long after it was written a change may still commit; far above a detection's transaction."""


@dataclass(frozen=True)
class Match:
    person_id: uuid.UUID
    similarity: float


class VectorIndex(Protocol):
    """What re-identification needs from an index; an ANN index can replace the exact one."""

    def add(self, person_id: uuid.UUID, vector: np.ndarray) -> None: ...

    def remove(self, person_id: uuid.UUID) -> None: ...

    def search(self, vector: np.ndarray, k: int = 1) -> list[Match]: ...


def vector_from_bytes(data: bytes) -> np.ndarray:
    """A stored vector (see ``models.pack_vector``) as numpy sees it, without a copy."""
    return np.frombuffer(data, dtype="<f4")


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


class ExactIndex:
    """Cosine similarity against every stored vector: exact, fine for small galleries."""

    def __init__(self) -> None:
        self._vectors: dict[uuid.UUID, np.ndarray] = {}
        self._matrix: np.ndarray | None = None
        self._ids: list[uuid.UUID] = []

    def add(self, person_id: uuid.UUID, vector: np.ndarray) -> None:
        self._vectors[person_id] = _unit(np.asarray(vector, dtype=np.float32))
        self._matrix = None

    def remove(self, person_id: uuid.UUID) -> None:
        if self._vectors.pop(person_id, None) is not None:
            self._matrix = None

    def search(self, vector: np.ndarray, k: int = 1) -> list[Match]:
        if not self._vectors:
            return []
        if self._matrix is None:
            self._ids = list(self._vectors)
            self._matrix = np.stack([self._vectors[i] for i in self._ids])
        similarities = self._matrix @ _unit(np.asarray(vector, dtype=np.float32))
        best = np.argsort(-similarities)[:k]
        return [Match(self._ids[i], float(similarities[i])) for i in best]


@dataclass
class _ProjectGallery:
    index: VectorIndex
    watermark: int
    # Changes applied lately, by id: re-read ones are skipped (see Gallery).
    applied: dict[int, datetime] = field(default_factory=dict)


class Gallery:
    """One index per project with the last change id it applied (its watermark).

    Ids are handed out when a transaction writes and become visible when it commits, which on
    PostgreSQL need not be in id order: a change below the watermark may still appear. So the
    changes of the last :data:`LATE_COMMIT_WINDOW` are read again and those not yet applied
    are applied, in id order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._projects: dict[uuid.UUID, _ProjectGallery] = {}

    def search(
        self, session: Session, project_id: uuid.UUID, vector: Sequence[float], k: int = 1
    ) -> list[Match]:
        """The ``k`` most similar persons of ``project_id`` only, as the database has them now."""
        with self._lock:
            index = self._caught_up(session, project_id)
            return index.search(np.asarray(vector, dtype=np.float32), k)

    def _loaded(self, session: Session, project_id: uuid.UUID) -> _ProjectGallery:
        """The project's index as the ``persons`` table has it (the source of truth)."""
        # The watermark is read first: a change committed while loading is applied twice,
        # which is harmless, rather than never.
        watermark = session.scalar(
            select(func.coalesce(func.max(GalleryChange.id), 0)).where(
                GalleryChange.project_id == project_id
            )
        )
        index = ExactIndex()
        rows = session.execute(
            select(Person.id, Person.vector).where(
                Person.project_id == project_id, Person.vector.is_not(None)
            )
        )
        for person_id, vector in rows:
            index.add(person_id, vector_from_bytes(vector))
        return _ProjectGallery(index, watermark)

    def _caught_up(self, session: Session, project_id: uuid.UUID) -> VectorIndex:
        if project_id not in self._projects:
            self._projects[project_id] = self._loaded(session, project_id)
        gallery = self._projects[project_id]
        late = utcnow() - LATE_COMMIT_WINDOW
        changes = session.execute(
            select(
                GalleryChange.id,
                GalleryChange.created_at,
                GalleryChange.person_id,
                GalleryChange.removed,
                Person.vector,
            )
            .outerjoin(Person, Person.id == GalleryChange.person_id)
            .where(
                GalleryChange.project_id == project_id,
                or_(GalleryChange.id > gallery.watermark, GalleryChange.created_at >= late),
            )
            .order_by(GalleryChange.id)
        ).all()
        for change_id, created_at, person_id, removed, vector in changes:
            if change_id in gallery.applied:
                continue
            if removed or vector is None:
                gallery.index.remove(person_id)
            else:
                gallery.index.add(person_id, vector_from_bytes(vector))
            gallery.applied[change_id] = created_at
            gallery.watermark = max(gallery.watermark, change_id)
        gallery.applied = {i: at for i, at in gallery.applied.items() if at >= late}
        return gallery.index
