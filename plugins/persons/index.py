"""The vector index: one small interface, an exact numpy implementation, and the gallery that
keeps one index per project in step with the database (the source of truth).

An index is built lazily from the ``persons`` table the first time a project is searched,
then caught up before every search from ``person_gallery_changes`` past its watermark, so a
person added or erased by another web or worker process is seen on the next search.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.db import utcnow
from plugins.persons.models import GalleryChange, Person

if TYPE_CHECKING:
    from plugins.persons.ann import AnnIndex

LATE_COMMIT_WINDOW = timedelta(seconds=10)
"""How long after it was written a change may still commit; far above a detection's transaction."""
CHANGE_LOG_KEPT = timedelta(days=7)
"""How long gallery changes are kept (the retention job prunes older ones). An index that has
not caught up for longer, or a saved graph older than this, is rebuilt from the database."""


@dataclass(frozen=True)
class Match:
    person_id: uuid.UUID
    similarity: float


class VectorIndex(Protocol):
    """What re-identification needs from an index; an ANN index can replace the exact one."""

    def add(self, person_id: uuid.UUID, vector: np.ndarray) -> None: ...

    def remove(self, person_id: uuid.UUID) -> None: ...

    def search(self, vector: np.ndarray, k: int = 1) -> list[Match]: ...

    def __len__(self) -> int: ...


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

    def __len__(self) -> int:
        return len(self._vectors)

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
    caught_up_at: datetime
    # Changes applied lately, by id: re-read ones are skipped (see Gallery).
    applied: dict[int, datetime] = field(default_factory=dict)
    # A graph loaded from a file re-reads the changes of the window before it was built.
    recheck_from: datetime | None = None


@dataclass(frozen=True)
class IndexSettings:
    """From which gallery size a project gets the ANN index, its quantisation, and where
    built graphs are saved (None: kept in memory only)."""

    ann_from: int = 20_000
    dtype: str = "f16"
    directory: Path | None = None


class Gallery:
    """One index per project with the last change id it applied (its watermark): exact
    search below ``settings.ann_from`` vectors, a usearch graph from there on.

    Ids are handed out when a transaction writes and become visible when it commits, which on
    PostgreSQL need not be in id order: a change below the watermark may still appear. So the
    changes of the last :data:`LATE_COMMIT_WINDOW` are read again and those not yet applied
    are applied, in id order."""

    def __init__(self, settings: IndexSettings | None = None) -> None:
        self.settings = settings or IndexSettings()
        self._lock = threading.Lock()
        self._projects: dict[uuid.UUID, _ProjectGallery] = {}

    def search(
        self, session: Session, project_id: uuid.UUID, vector: Sequence[float], k: int = 1
    ) -> list[Match]:
        """The ``k`` most similar persons of ``project_id`` only, as the database has them now."""
        with self._lock:
            index = self._caught_up(session, project_id)
            return index.search(np.asarray(vector, dtype=np.float32), k)

    def index_of(self, project_id: uuid.UUID) -> VectorIndex | None:
        """The project's index as last caught up (None before its first search)."""
        gallery = self._projects.get(project_id)
        return gallery.index if gallery else None

    def _loaded(
        self, session: Session, project_id: uuid.UUID, rebuild: bool = False
    ) -> _ProjectGallery:
        """The project's index as the ``persons`` table has it (the source of truth), or its
        saved graph when that is recent enough to catch up from (unless ``rebuild``)."""
        # The watermark is read first: a change committed while loading is applied twice,
        # which is harmless, rather than never.
        watermark = session.scalar(
            select(func.coalesce(func.max(GalleryChange.id), 0)).where(
                GalleryChange.project_id == project_id
            )
        )
        now = utcnow()
        count = session.scalar(
            select(func.count()).where(Person.project_id == project_id, Person.vector.is_not(None))
        )
        if count < self.settings.ann_from:
            index = ExactIndex()
            for person_id, vector in self._rows(session, project_id):
                index.add(person_id, vector)
            return _ProjectGallery(index, watermark, now)
        from plugins.persons.ann import AnnIndex, Saved

        folder = self._folder(project_id)
        loaded = AnnIndex.load(folder) if folder and not rebuild else None
        if loaded is not None:
            graph, saved = loaded
            if saved.watermark <= watermark and saved.built_at > now - CHANGE_LOG_KEPT:
                return _ProjectGallery(
                    graph, saved.watermark, now, recheck_from=saved.built_at - LATE_COMMIT_WINDOW
                )
        graph = AnnIndex.build(self._rows(session, project_id), self.settings.dtype)
        if folder:
            graph.save(folder, Saved(watermark, now))
        return _ProjectGallery(graph, watermark, now)

    def _folder(self, project_id: uuid.UUID) -> Path | None:
        directory = self.settings.directory
        return directory / str(project_id) if directory else None

    @staticmethod
    def _rows(session: Session, project_id: uuid.UUID) -> Iterator[tuple[uuid.UUID, np.ndarray]]:
        rows = session.execute(
            select(Person.id, Person.vector)
            .where(Person.project_id == project_id, Person.vector.is_not(None))
            .execution_options(yield_per=10_000)
        )
        for person_id, vector in rows:
            yield person_id, vector_from_bytes(vector)

    def _caught_up(self, session: Session, project_id: uuid.UUID) -> VectorIndex:
        now = utcnow()
        gallery = self._projects.get(project_id)
        if gallery is None or gallery.caught_up_at < now - CHANGE_LOG_KEPT + LATE_COMMIT_WINDOW:
            gallery = self._projects[project_id] = self._loaded(session, project_id)
        late = now - LATE_COMMIT_WINDOW
        since = min(late, gallery.recheck_from) if gallery.recheck_from else late
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
                or_(GalleryChange.id > gallery.watermark, GalleryChange.created_at >= since),
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
        gallery.recheck_from, gallery.caught_up_at = None, now
        if self._outgrown(gallery.index):
            gallery = self._projects[project_id] = self._loaded(session, project_id, rebuild=True)
        return gallery.index

    def _outgrown(self, index: VectorIndex) -> bool:
        """An exact index past the ANN size, or a graph with too many changes since its build."""
        if isinstance(index, ExactIndex):
            return len(index) >= self.settings.ann_from
        return cast("AnnIndex", index).stale()
