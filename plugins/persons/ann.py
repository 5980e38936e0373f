"""The approximate index for large galleries: a usearch HNSW graph (cosine, i8 or f16
quantised) built once from the database, saved to a file and loaded memory-mapped, with the
changes since then in a small exact overlay.

The graph is never edited: a person added or changed after the build goes to the overlay and
hides their old graph entry; an erased one hides it too. When the overlay grows past a share
of the graph, :meth:`AnnIndex.stale` tells the gallery that a new one is due (built from the
database by a background job while this one keeps answering).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from usearch.index import Index

from plugins.persons.index import ExactIndex, Match

CONNECTIVITY = 32
EXPANSION_ADD = 128
EXPANSION_SEARCH = 64
"""Graph parameters: on random-like face vectors the misses came from the graph, not from the
quantisation (f32 missed as often as f16, and i8 as often while 1.4-2x faster than f16 on a
million vectors), and a denser graph finds more per distance computed than a wider search of a
sparser one (bench/bench_persons.py). Binary codes (b1, Hamming, re-ranked) were faster on
200,000 vectors but needed twice the search width on a million to keep their recall."""
OVERLAY_SHARE = 0.05
"""The overlay may hold this share of the graph's size before a rebuild is due."""
OVERLAY_MIN = 1000
BUILD_SLICE = 10_000
"""Vectors added between two progress reports, at least."""
CURRENT, GRAPH, IDS = "current.json", "graph.usearch", "ids.npy"


@dataclass(frozen=True)
class Saved:
    """What the file beside a saved graph says: which changes the graph already holds."""

    watermark: int
    built_at: datetime


class AnnIndex:
    """A usearch graph of the vectors at build time plus an exact overlay of later changes."""

    def __init__(self, graph: Index, ids: list[uuid.UUID]) -> None:
        self._graph = graph
        self._ids = ids
        self._keys = {person_id: key for key, person_id in enumerate(ids)}
        self._hidden: set[int] = set()
        self._overlay = ExactIndex()

    @classmethod
    def build(
        cls,
        rows: Iterable[tuple[uuid.UUID, np.ndarray]],
        dtype: str = "i8",
        threads: int = 0,
        progress: Callable[[float], None] | None = None,
    ) -> AnnIndex:
        """A graph over ``rows`` (person id, vector), built with ``threads`` (0: all cores),
        telling ``progress`` the share added so far after each slice."""
        ids, vectors = [], []
        for person_id, vector in rows:
            ids.append(person_id)
            vectors.append(vector)
        graph = Index(
            ndim=128,
            metric="cos",
            dtype=dtype,
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        step = max(BUILD_SLICE, len(ids) // 20)
        for start in range(0, len(ids), step):
            matrix = np.asarray(vectors[start : start + step], dtype=np.float32)
            keys = np.arange(start, start + len(matrix), dtype=np.uint64)
            graph.add(keys, matrix, threads=threads)
            if progress:
                progress((start + len(matrix)) / len(ids))
        return cls(graph, ids)

    def __len__(self) -> int:
        return len(self._ids) - len(self._hidden) + len(self._overlay)

    def __contains__(self, person_id: object) -> bool:
        if person_id in self._overlay:
            return True
        key = self._keys.get(person_id)  # type: ignore[call-overload]
        return key is not None and key not in self._hidden

    @property
    def expansion_search(self) -> int:
        """Candidates a search keeps: more finds more, slower."""
        return int(self._graph.expansion_search)

    @expansion_search.setter
    def expansion_search(self, value: int) -> None:
        self._graph.expansion_search = value

    @property
    def memory_bytes(self) -> int:
        """What the graph takes in memory (a memory-mapped graph: its pages in use)."""
        return int(self._graph.memory_usage)

    def stale(self) -> bool:
        """Whether enough changed since the build that the graph should be rebuilt."""
        return len(self._overlay) + len(self._hidden) > max(
            OVERLAY_MIN, OVERLAY_SHARE * len(self._ids)
        )

    def add(self, person_id: uuid.UUID, vector: np.ndarray) -> None:
        key = self._keys.get(person_id)
        if key is not None:
            self._hidden.add(key)
        self._overlay.add(person_id, vector)

    def remove(self, person_id: uuid.UUID) -> None:
        key = self._keys.get(person_id)
        if key is not None:
            self._hidden.add(key)
        self._overlay.remove(person_id)

    def search(self, vector: np.ndarray, k: int = 1) -> list[Match]:
        found = list(self._overlay.search(vector, k))
        if self._ids:
            wanted = min(len(self._ids), k + len(self._hidden))
            matches = self._graph.search(np.asarray(vector, dtype=np.float32), wanted)
            for key, distance in zip(matches.keys, matches.distances, strict=True):
                if int(key) not in self._hidden:
                    found.append(Match(self._ids[int(key)], 1.0 - float(distance)))
        found.sort(key=lambda match: -match.similarity)
        return found[:k]

    # ---- files ----------------------------------------------------------------------------

    def save(self, directory: Path, saved: Saved) -> None:
        """Write the graph and its person ids into a new build folder of ``directory``, then
        point ``current.json`` at it in one rename: a reader sees the old build or the new
        one, never a mix. Only a graph without changes since its build is saved."""
        if self._hidden or len(self._overlay):
            raise ValueError("only a freshly built graph is saved")
        build = f"{saved.watermark}-{uuid.uuid4().hex[:12]}"
        folder = directory / build
        folder.mkdir(parents=True)
        self._graph.save(str(folder / GRAPH))
        np.save(folder / IDS, np.frombuffer(b"".join(i.bytes for i in self._ids), np.uint8))
        pointer = directory / f"{CURRENT}.{build}.part"
        pointer.write_text(
            json.dumps(
                {
                    "build": build,
                    "watermark": saved.watermark,
                    "built_at": saved.built_at.isoformat(),
                }
            )
        )
        os.replace(pointer, directory / CURRENT)
        for old in directory.iterdir():  # processes that mapped an old build keep its pages
            if old.is_dir() and old.name != build:
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> tuple[AnnIndex, Saved] | None:
        """The saved graph, memory-mapped (its pages shared by every process on the host),
        or None when it is missing or unreadable: the gallery then rebuilds it."""
        try:
            meta = json.loads((directory / CURRENT).read_text())
            folder = directory / meta["build"]
            raw_ids = np.load(folder / IDS)
            graph = Index.restore(str(folder / GRAPH), view=True)
            saved = Saved(int(meta["watermark"]), datetime.fromisoformat(meta["built_at"]))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError):
            return None
        if graph is None or len(graph) * 16 != len(raw_ids):
            return None
        ids = [uuid.UUID(bytes=raw_ids[i : i + 16].tobytes()) for i in range(0, len(raw_ids), 16)]
        return cls(graph, ids), saved
