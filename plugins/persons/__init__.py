"""Plugin ``persons``: visitors seen by cameras, re-identified by their face vectors, their
visits and statistics (seed 004)."""

from __future__ import annotations

from pathlib import Path

from core.config import Setting
from core.hookspecs import hookimpl
from plugins.persons.reports import report_sections  # noqa: F401 - the reports hook


def _similarity(value: str) -> float:
    number = float(value)
    if not -1.0 < number <= 1.0:
        raise ValueError("must be a cosine similarity in (-1, 1]")
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _dtype(value: str) -> str:
    if value not in ("i8", "f16"):
        raise ValueError("must be i8 or f16")
    return value


@hookimpl
def plugin_info():
    return {
        "name": "persons",
        "version": "1.0.0",
        "description": "Visitors seen by cameras: face vectors, re-identification, visits, stats",
        "requires": ["orders", "assistant"],
        "nebulo": ">=1.0,<2",
    }


@hookimpl
def register_settings(register):
    register(
        Setting(
            "NEBULO_PERSONS_MATCH_THRESHOLD",
            0.9,
            "Cosine similarity from which a detected face is a known person of the project",
            _similarity,
        )
    )
    register(
        Setting(
            "NEBULO_PERSONS_MAX_IMAGE_BYTES",
            512_000,
            "Largest face image a camera may upload, in bytes",
            _positive,
        )
    )
    register(
        Setting(
            "NEBULO_PERSONS_IMAGE_DIR",
            "",
            "Directory of face images (default: persons-images in the instance folder)",
        )
    )
    register(
        Setting(
            "NEBULO_PERSONS_ANN_MIN_VECTORS",
            20_000,
            "Face vectors of a project from which its index is a usearch ANN graph, not exact",
            _positive,
        )
    )
    register(
        Setting(
            "NEBULO_PERSONS_ANN_DTYPE",
            "i8",
            "Quantisation of the ANN graph's vectors: i8 (half of f16's bytes, faster, "
            "as accurate on a million faces), or f16",
            _dtype,
        )
    )
    register(
        Setting(
            "NEBULO_PERSONS_INDEX_DIR",
            "",
            "Directory of saved ANN graphs (default: persons-index in the instance folder)",
        )
    )
    register(
        Setting(
            "NEBULO_PERSONS_BIOMETRICS_RETENTION_DAYS",
            30,
            "Days a face vector and image are kept; visits stay for statistics",
            _positive,
        )
    )
    register(
        Setting(
            "NEBULO_RATE_LIMIT_PERSONS",
            "1000/hour",
            "Detections one camera (API key) or user may send per period (seed 004)",
        )
    )
    register(
        Setting(
            "NEBULO_RATE_LIMIT_PERSONS_STATISTICS",
            "100/hour",
            "Requests per statistics endpoint per caller and period (seed 004)",
        )
    )


@hookimpl
def register_permissions(register):
    register("persons", "Cameras: send detections of visitors", min_role="operator")
    register("view_persons", "See persons, their visits and visit statistics", min_role="viewer")
    register("manage_persons", "Change and erase persons", min_role="operator")
    register("view_biometrics", "See face vectors and images of persons", min_role="admin")


@hookimpl
def register_models(register):
    from plugins.persons import models  # noqa: F401 - adds the tables to Base.metadata

    register(Path(__file__).parent / "migrations")


@hookimpl
def register_blueprints(register):
    from plugins.persons.routes import blp

    register(blp)


@hookimpl
def register_jobs(register):
    from plugins.persons import jobs

    register(jobs.purge_expired_biometrics, retries=2, backoff=(60, 600))
    register(jobs.rebuild_index)


@hookimpl
def register_commands(cli):
    from plugins.persons.cli import persons

    cli.add_command(persons)


@hookimpl
def register_metrics(register):
    from plugins.persons.metrics import METRICS

    for metric in METRICS:
        register(metric)


@hookimpl
def register_tools(register):
    from plugins.persons import tools

    for tool in tools.TOOLS:
        register(tool)


@hookimpl
def check_order(session, order):
    from plugins.persons.history import check_order_person

    check_order_person(session, order)


@hookimpl
def load_demo(project, session):
    from plugins.persons.demo import load_demo_persons

    load_demo_persons(session, project.id)
