"""The vector index: one small interface, an exact numpy implementation, and the gallery that
keeps one index per project in step with the database (the source of truth).

An index is built lazily from the ``persons`` table (or loaded from the graph the rebuild job
saved) the first time a project is searched, then caught up before every search from
``person_gallery_changes`` past its watermark, so a person added or erased by another web or
worker process is seen on the next search.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.db import utcnow
from plugins.persons.models import VECTOR_SIZE, GalleryChange, Person

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

    def __contains__(self, person_id: object) -> bool: ...


def vector_from_bytes(data: bytes) -> np.ndarray:
    """A stored vector (see ``models.pack_vector``) as numpy sees it, without a copy."""
    return np.frombuffer(data, dtype="<f4")


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


class ExactIndex:
    """Cosine similarity against every stored vector: exact. A change edits one row of the
    matrix, so it also serves a large gallery while that gallery's graph is being built."""

    def __init__(self) -> None:
        self._matrix = np.empty((0, VECTOR_SIZE), dtype=np.float32)
        self._ids: list[uuid.UUID] = []
        self._rows: dict[uuid.UUID, int] = {}

    @classmethod
    def of(cls, rows: Sequence[tuple[uuid.UUID, np.ndarray]]) -> ExactIndex:
        """An index of ``rows`` (person id, vector) in one matrix operation: a large gallery
        loads in seconds while its graph is built."""
        index = cls()
        if rows:
            matrix = np.stack([vector for _, vector in rows]).astype(np.float32, copy=False)
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            index._matrix = matrix / np.where(norms > 0, norms, 1)
            index._ids = [person_id for person_id, _ in rows]
            index._rows = {person_id: row for row, person_id in enumerate(index._ids)}
        return index

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, person_id: object) -> bool:
        return person_id in self._rows

    def add(self, person_id: uuid.UUID, vector: np.ndarray) -> None:
        row = self._rows.get(person_id)
        if row is None:
            row = len(self._ids)
            if row == len(self._matrix):
                grown = np.empty((max(1024, 2 * row), VECTOR_SIZE), dtype=np.float32)
                grown[:row] = self._matrix
                self._matrix = grown
            self._ids.append(person_id)
            self._rows[person_id] = row
        self._matrix[row] = _unit(np.asarray(vector, dtype=np.float32))

    def remove(self, person_id: uuid.UUID) -> None:
        """The last row moves into the removed one's place."""
        row = self._rows.pop(person_id, None)
        if row is None:
            return
        moved = self._ids.pop()
        if moved != person_id:
            self._matrix[row] = self._matrix[len(self._ids)]
            self._ids[row] = moved
            self._rows[moved] = row

    def search(self, vector: np.ndarray, k: int = 1) -> list[Match]:
        count = len(self._ids)
        if not count:
            return []
        similarities = self._matrix[:count] @ _unit(np.asarray(vector, dtype=np.float32))
        k = min(k, count)
        best = np.argpartition(-similarities, k - 1)[:k]
        best = best[np.argsort(-similarities[best])]
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
    # Which saved graph file the index came from (None: built in memory, exact).
    stamp: tuple[int, int] | None = None


@dataclass(frozen=True)
class IndexSettings:
    """Where built graphs are saved (shared by the web and worker processes of a host), from
    which gallery size a project gets the ANN index, and its quantisation."""

    directory: Path
    ann_from: int = 20_000
    dtype: str = "i8"


@dataclass(frozen=True)
class Snapshot:
    """A project's vectors as one transaction saw them, with the change log's watermark."""

    rows: list[tuple[uuid.UUID, np.ndarray]]
    watermark: int
    taken_at: datetime


class Gallery:
    """One index per project with the last change id it applied (its watermark): exact
    search below ``settings.ann_from`` vectors, from there on the usearch graph that the
    background job (:func:`plugins.persons.jobs.rebuild_index`) saved, picked up by every
    process on its next search. Until there is one, and while a newer one is built, searches
    go on with the exact index or the previous graph, both caught up from the change log.

    Ids are handed out when a transaction writes and become visible when it commits, which on
    PostgreSQL need not be in id order: a change below the watermark may still appear. So the
    changes of the last :data:`LATE_COMMIT_WINDOW` are read again and those not yet applied
    are applied, in id order."""

    def __init__(self, settings: IndexSettings) -> None:
        self.settings = settings
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

    def rebuild_due(self, project_id: uuid.UUID) -> bool:
        """Whether the project needs a new graph: its exact index reached the ANN size, or its
        graph gathered too many changes since it was built."""
        index = self.index_of(project_id)
        if index is None:
            return False
        if isinstance(index, ExactIndex):
            return len(index) >= self.settings.ann_from
        return cast("AnnIndex", index).stale()

    def save_graph(
        self,
        project_id: uuid.UUID,
        snapshot: Snapshot,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        """Build the graph of ``snapshot`` and save it where every process's next search
        picks it up (what the rebuild job does, outside any transaction)."""
        from plugins.persons.ann import AnnIndex, Saved

        graph = AnnIndex.build(snapshot.rows, self.settings.dtype, progress=progress)
        graph.save(self._folder(project_id), Saved(snapshot.watermark, snapshot.taken_at))

    def _loaded(self, session: Session, project_id: uuid.UUID) -> _ProjectGallery:
        """The project's saved graph when it has one recent enough to catch up from, else an
        exact index of the ``persons`` table (the source of truth)."""
        if _vector_count(session, project_id) >= self.settings.ann_from:
            saved = self._saved_graph(session, project_id)
            if saved is not None:
                return saved
        snapshot = take_snapshot(session, project_id)
        return _ProjectGallery(ExactIndex.of(snapshot.rows), snapshot.watermark, snapshot.taken_at)

    def _saved_graph(self, session: Session, project_id: uuid.UUID) -> _ProjectGallery | None:
        """The graph last saved for the project, memory-mapped, unless it is missing, was built
        from another database (past its watermark) or is older than the change log kept."""
        from plugins.persons.ann import AnnIndex

        folder = self._folder(project_id)
        stamp = _stamp(folder)
        loaded = AnnIndex.load(folder) if stamp else None
        if loaded is None:
            return None
        graph, saved = loaded
        if saved.watermark > _watermark(session, project_id):
            return None
        if saved.built_at <= utcnow() - CHANGE_LOG_KEPT:
            return None
        return _ProjectGallery(
            graph,
            saved.watermark,
            utcnow(),
            recheck_from=saved.built_at - LATE_COMMIT_WINDOW,
            stamp=stamp,
        )

    def _folder(self, project_id: uuid.UUID) -> Path:
        return self.settings.directory / str(project_id)

    def _caught_up(self, session: Session, project_id: uuid.UUID) -> VectorIndex:
        now = utcnow()
        gallery = self._projects.get(project_id)
        if gallery is None or gallery.caught_up_at < now - CHANGE_LOG_KEPT + LATE_COMMIT_WINDOW:
            gallery = self._projects[project_id] = self._loaded(session, project_id)
        elif gallery.stamp != (stamp := _stamp(self._folder(project_id))) and stamp:
            gallery.stamp = stamp  # a graph that will not load is not tried again
            newer = self._saved_graph(session, project_id)
            if newer is not None:
                gallery = self._projects[project_id] = newer
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
            elif person_id not in gallery.index:  # a vector is written once: already applied
                gallery.index.add(person_id, vector_from_bytes(vector))
            gallery.applied[change_id] = created_at
            gallery.watermark = max(gallery.watermark, change_id)
        gallery.applied = {i: at for i, at in gallery.applied.items() if at >= late}
        gallery.recheck_from, gallery.caught_up_at = None, now
        return gallery.index


def take_snapshot(session: Session, project_id: uuid.UUID) -> Snapshot:
    """The project's vectors now. The watermark is read first: a change committed while
    reading is applied again later, which is harmless, rather than never."""
    watermark, taken_at = _watermark(session, project_id), utcnow()
    rows = session.execute(
        select(Person.id, Person.vector)
        .where(Person.project_id == project_id, Person.vector.is_not(None))
        .execution_options(yield_per=10_000)
    )
    return Snapshot(
        [(person_id, vector_from_bytes(vector)) for person_id, vector in rows], watermark, taken_at
    )


def _watermark(session: Session, project_id: uuid.UUID) -> int:
    return session.scalar(
        select(func.coalesce(func.max(GalleryChange.id), 0)).where(
            GalleryChange.project_id == project_id
        )
    )


def _vector_count(session: Session, project_id: uuid.UUID) -> int:
    return session.scalar(
        select(func.count()).where(Person.project_id == project_id, Person.vector.is_not(None))
    )


def _stamp(folder: Path) -> tuple[int, int] | None:
    """Which graph the folder's pointer names now: its inode and change time (a new build
    replaces the pointer file), or None when there is none."""
    from plugins.persons.ann import CURRENT

    try:
        status = (folder / CURRENT).stat()
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns
