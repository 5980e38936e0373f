"""Re-identification at scale and the HTTP detection path of the persons plugin.

Index: ``BENCH_PERSONS_VECTORS`` (default 1,000,000) stored 128-d unit vectors of clustered
identities (each identity seen ``SIGHTINGS`` times with noise), searched with fresh noisy
sightings, so every query has true matches. The usearch graph (the plugin's ``AnnIndex``,
i8 as by default, or ``BENCH_PERSONS_DTYPE``) is measured beside exact numpy search (one matrix
product over the same float32 vectors) in the same run: re-identification recall@1 of the
graph as a share of exact search's (and with twice the search width, to tell a graph that
misses from a search too narrow), query p99 and the speed-up of the median query (the two
timed query by query, interleaved, so that a busy machine slows both alike); build time and
bytes per stored vector (in memory, on disk, and memory-mapped) are reported. The
memory-mapped figure repeats one query, so its pages are warm: it is not a cold-start time.

HTTP: a detection (vector in, person matched or created, visit stored, ``person.joined``
published) through gunicorn with a camera's API key, beside a bare Flask route that only
parses the same JSON body, both served the same way in the same run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from flask import Flask, jsonify, request

from bench import Figure, Target, median_ms
from bench.serving import environment, gunicorn

VECTORS = int(os.environ.get("BENCH_PERSONS_VECTORS", "1000000"))
SIGHTINGS = 4
NOISE = 0.5
"""Noise of a sighting around its identity (cosine about 0.9 to it, about 0 to others)."""
QUERIES = 1000
EXACT_QUERIES = 200
DETECTIONS = 300
BUILD_THREADS = int(os.environ.get("BENCH_PERSONS_THREADS", "0"))
DTYPE = os.environ.get("BENCH_PERSONS_DTYPE", "i8")


def _unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def _sightings(centers: np.ndarray, which: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(scale=NOISE / np.sqrt(128), size=(len(which), 128)).astype(np.float32)
    return _unit(centers[which] + noise)


def _index_figures() -> list[Figure]:
    from plugins.persons import ann
    from plugins.persons.ann import AnnIndex, Saved

    rng = np.random.default_rng(2024)
    identities = VECTORS // SIGHTINGS
    centers = _unit(rng.normal(size=(identities, 128)).astype(np.float32))
    owner = np.repeat(np.arange(identities), SIGHTINGS)
    stored = np.empty((VECTORS, 128), dtype=np.float32)
    for start in range(0, VECTORS, 100_000):  # in slices: the noise of 1M rows at once is big
        stored[start : start + 100_000] = _sightings(centers, owner[start : start + 100_000], rng)
    ids = [uuid.UUID(int=i) for i in range(VECTORS)]
    asked = rng.integers(0, identities, QUERIES)
    queries = _sightings(centers, asked, rng)

    started = time.perf_counter()
    graph = AnnIndex.build(zip(ids, stored, strict=True), DTYPE, threads=BUILD_THREADS)
    build_seconds = time.perf_counter() - started
    print(f"   built the graph of {VECTORS:,} vectors in {build_seconds:.0f} s", flush=True)

    def exact_top(query: np.ndarray) -> int:
        return int(np.argmax(stored @ query))

    exact_hits = 0  # recall only: the queries in blocks, one matrix product each
    for start in range(0, QUERIES, 50):
        block = slice(start, start + 50)
        exact_hits += int(
            (owner[np.argmax(queries[block] @ stored.T, axis=1)] == asked[block]).sum()
        )
    graph_hits = sum(
        owner[graph.search(query)[0].person_id.int] == identity
        for query, identity in zip(queries, asked, strict=True)
    )
    graph.expansion_search *= 2  # how much a wider search would still find
    wider_hits = sum(
        owner[graph.search(query)[0].person_id.int] == identity
        for query, identity in zip(queries, asked, strict=True)
    )
    graph.expansion_search //= 2
    # The speed-up: both searches timed query by query in alternating blocks of 25, so that a
    # busy machine slows both alike, while neither evicts the other's data from the CPU caches
    # between two of its own queries (query-by-query interleaving made both 2-3x slower).
    exact_times, graph_times = [], []
    for start in range(0, EXACT_QUERIES, 25):
        block = queries[start : start + 25]
        for search, times in ((exact_top, exact_times), (graph.search, graph_times)):
            for query in block:
                began = time.perf_counter()
                search(query)
                times.append((time.perf_counter() - began) * 1000)
    exact_ms, graph_ms = statistics.median(exact_times), statistics.median(graph_times)
    exact_p99, graph_p99 = (float(np.percentile(times, 99)) for times in (exact_times, graph_times))

    folder = Path(tempfile.mkdtemp(prefix="nebulo-bench-graph-"))
    try:
        graph.save(folder, Saved(0, datetime.now(UTC)))
        on_disk = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
        mapped, _ = AnnIndex.load(folder)
        mapped_ms = median_ms(QUERIES // 10, lambda: mapped.search(queries[1]))
        mapped_bytes = mapped.memory_bytes
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    per_vector = graph.memory_bytes / VECTORS
    size = f"{VECTORS:,} vectors"
    return [
        Figure(
            f"re-identification recall@1, share of exact's ({size})",
            graph_hits / exact_hits,
            "ratio",
            1.0,
            f"exact numpy recall {exact_hits / QUERIES:.4f}; graph {DTYPE}, connectivity "
            f"{ann.CONNECTIVITY}, expansion add/search {ann.EXPANSION_ADD}/{ann.EXPANSION_SEARCH}",
            QUERIES,
            Target(">=", 0.99),
        ),
        Figure(
            f"recall@1 share of exact's with expansion_search x2 ({size})",
            wider_hits / exact_hits,
            "ratio",
            graph_hits / exact_hits,
            "configured expansion_search",
            QUERIES,
        ),
        Figure(
            f"ANN query p99 ({size})",
            graph_p99,
            "ms",
            exact_p99,
            "exact numpy p99",
            EXACT_QUERIES,
            Target("<", 5),
        ),
        Figure(
            f"ANN query median vs exact numpy ({size})",
            graph_ms,
            "ms",
            exact_ms,
            "exact numpy",
            EXACT_QUERIES,
            Target("<=", 1 / 50, on="ratio"),
        ),
        Figure(
            f"ANN query median, memory-mapped graph ({size})",
            mapped_ms,
            "ms",
            graph_ms,
            "graph in memory",
            QUERIES // 10,
        ),
        Figure(
            f"ANN build time ({size}, {BUILD_THREADS or os.cpu_count()} threads)",
            build_seconds,
            "s",
            build_seconds,
            "itself",
            1,
        ),
        Figure(
            "bytes per stored vector: graph in memory",
            per_vector,
            "B",
            128 * 4,
            "float32 vector alone",
            1,
        ),
        Figure("bytes per stored vector: saved files", on_disk / VECTORS, "B", 512, "float32", 1),
        Figure(
            "bytes per stored vector: memory-mapped graph, resident",
            mapped_bytes / VECTORS,
            "B",
            512,
            "float32",
            1,
        ),
    ]


def bare_app() -> Flask:
    """The baseline: Flask parsing the same JSON body and answering 201."""
    app = Flask("bare")

    @app.get("/ready")
    def ready():
        return jsonify(ok=True)

    @app.post("/detect")
    def detect():
        body = request.get_json()
        return jsonify(id=str(uuid.uuid4()), matched=False, values=len(body["vector"])), 201

    return app


def _camera(env: dict[str, str]) -> tuple[dict[str, str], str]:
    """A migrated database with a project and a camera API key holding the persons scope."""
    from core import migrate
    from core.app import create_app
    from core.config import load_settings

    app = create_app(load_settings(env))
    migrate.upgrade(app)
    client = app.test_client()
    credentials = {"email": "bench@example.com", "password": "correct horse battery"}
    assert client.post("/api/v1/auth/register", json=credentials).status_code == 201
    token = client.post("/api/v1/auth/login", json=credentials).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    project = client.post("/api/v1/projects", json={"name": "Bench diner"}, headers=headers)
    project_id = project.get_json()["id"]
    key = client.post(
        f"/api/v1/projects/{project_id}/api-keys",
        json={"name": "door", "scopes": ["persons"]},
        headers=headers,
    )
    assert key.status_code == 201, key.get_json()
    app.extensions["nebulo"].db.dispose()
    return {"X-API-Key": key.get_json()["key"]}, project_id


def _post_ms(client: httpx.Client, url: str, bodies: list[dict]) -> float:
    times = []
    for body in bodies:
        began = time.perf_counter()
        response = client.post(url, json=body)
        times.append((time.perf_counter() - began) * 1000)
        if response.status_code != 201:
            raise RuntimeError(f"POST {url}: {response.status_code} {response.text[:200]}")
    return statistics.median(times)


def _http_figures() -> list[Figure]:
    rng = np.random.default_rng(7)
    faces = _unit(rng.normal(size=(DETECTIONS // 2, 128)).astype(np.float32))
    # half new faces, half their return: matches and new persons both measured
    vectors = np.concatenate([faces, _sightings(faces, np.arange(len(faces)), rng)])
    bodies = [{"vector": v.tolist(), "gender": "Female", "age": 30} for v in vectors]
    with tempfile.TemporaryDirectory(prefix="nebulo-bench-") as directory:
        env = environment(
            f"sqlite:///{directory}/bench.db",
            NEBULO_ENV="production",
            NEBULO_INSTANCE_PATH=directory,
            NEBULO_RATE_LIMIT_PERSONS="10000000/hour",
        )
        key, project_id = _camera(env)
        with (
            gunicorn("bench.bench_persons:bare_app()", env, "/ready") as bare,
            gunicorn("wsgi:app", env, "/healthz") as nebulo,
        ):
            with httpx.Client(headers=key, timeout=30) as client:
                url = f"{nebulo}/api/v1/persons/{project_id}"
                _post_ms(client, url, bodies[:5])  # warm up: the first search builds the index
                detection_ms = _post_ms(client, url, bodies[5:])
            with httpx.Client(timeout=30) as client:
                bare_ms = _post_ms(client, f"{bare}/detect", bodies[5:])
    return [
        Figure(
            "HTTP detection: vector in, visit stored, event published",
            detection_ms,
            "ms",
            bare_ms,
            "bare Flask parsing the body",
            DETECTIONS - 5,
            Target("<", 20),
        )
    ]


def run() -> Iterator[Figure]:
    """The index's figures first, printed as soon as they are measured: the graph of a
    million vectors takes most of an hour to build on two cores."""
    yield from _index_figures()
    yield from _http_figures()
