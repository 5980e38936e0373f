"""Persons, detections and visits, biometric data and its retention: the one place the
routes, jobs and CLI of the plugin call."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import delete, false, func, select, update
from sqlalchemy.orm import Session

from core.config import setting
from core.context import Context
from core.db import get_scoped, scoped, utcnow
from core.errors import NotFound
from core.events import publish
from core.projects.models import Project
from plugins.orders import carts
from plugins.persons import vision
from plugins.persons.models import (
    GalleryChange,
    Person,
    Visit,
    pack_vector,
    record_change,
    unpack_vector,
)
from plugins.persons.storage import (
    MEDIA_TYPES,
    DirectoryStorage,
    ImageStorage,
    image_extension,
)

if TYPE_CHECKING:
    from plugins.persons.index import Gallery

EDITABLE_FIELDS = ("full_name", "phone_number", "age", "gender", "emotion", "body_type")
OBSERVED_FIELDS = ("age", "gender", "emotion", "body_type")


@dataclass
class PersonsRuntime:
    """What one app keeps for the plugin: its gallery of vectors and its image storage."""

    gallery: Gallery
    storage: ImageStorage


def runtime() -> PersonsRuntime:
    extensions = current_app.extensions
    if "persons" not in extensions:
        # numpy loads with the first detection, not when the app starts.
        from plugins.persons.index import Gallery, IndexSettings

        instance = Path(extensions["nebulo"].settings.instance_path)
        images = setting("NEBULO_PERSONS_IMAGE_DIR") or instance / "persons-images"
        graphs = setting("NEBULO_PERSONS_INDEX_DIR") or instance / "persons-index"
        index_settings = IndexSettings(
            Path(graphs),
            setting("NEBULO_PERSONS_ANN_MIN_VECTORS"),
            setting("NEBULO_PERSONS_ANN_DTYPE"),
        )
        extensions["persons"] = PersonsRuntime(
            Gallery(index_settings), DirectoryStorage(Path(images))
        )
    return extensions["persons"]


# ---- detections ---------------------------------------------------------------------------


def record_detection(
    session: Session, ctx: Context, data: dict[str, Any], image: bytes | None = None
) -> dict[str, Any]:
    """A camera saw someone: a new visit of the most similar known person of this project
    when the similarity reaches the threshold, else a new person with their first visit.
    Without a vector, it is computed from ``image`` (extra ``vision``)."""
    extension = image_extension(image, setting("NEBULO_PERSONS_MAX_IMAGE_BYTES")) if image else None
    vector = data.get("vector") or vision.face_vector(image)
    _one_detection_at_a_time(session, ctx.project_id)
    gallery = runtime().gallery
    matches = gallery.search(session, ctx.project_id, vector)
    if gallery.rebuild_due(ctx.project_id):
        from plugins.persons.jobs import request_index_rebuild  # the jobs module imports this one

        request_index_rebuild(session, ctx.project_id)
    threshold = setting("NEBULO_PERSONS_MATCH_THRESHOLD")
    best = matches[0] if matches and matches[0].similarity >= threshold else None
    person = session.get(Person, best.person_id) if best else None
    entry_time = data.get("entry_time") or utcnow()
    observed = {name: data.get(name) for name in OBSERVED_FIELDS}
    if person is None:
        best = None
        person = Person(
            id=uuid.uuid4(),
            project_id=ctx.project_id,
            vector=pack_vector(vector),
            biometrics_at=utcnow(),
            **observed,
        )
        session.add(person)
        record_change(session, ctx.project_id, person.id, removed=False)
    else:
        for name, value in observed.items():
            if value is not None:
                setattr(person, name, value)
    person.entry_time, person.exit_time = entry_time, data.get("exit_time")
    visit = Visit(
        project_id=ctx.project_id,
        person_id=person.id,
        entry_time=entry_time,
        exit_time=data.get("exit_time"),
        is_returning=best is not None,
        similarity=best.similarity if best else None,
        **observed,
    )
    session.add(visit)
    session.flush()
    if extension and person.image_key is None:
        person.image_key = f"{ctx.project_id}/{person.id}.{extension}"
        runtime().storage.save(person.image_key, image)
    publish(session, "person.joined", ctx.project_id, joined_payload(session, person, visit))
    return {
        **person_fields(person),
        "matched": best is not None,
        "similarity": best.similarity if best else None,
        "visit": visit,
    }


def _one_detection_at_a_time(session: Session, project_id: uuid.UUID) -> None:
    """Hold the project's detection lock until the transaction ends: two cameras seeing a new
    face at once would otherwise both find no match and make two persons of one. The second
    searches once the first committed, and finds the person it made.

    PostgreSQL: a transaction-level advisory lock on the project. SQLite lets one writer in at
    a time and the first write takes that turn (core.sqlite_writers): a write that changes
    nothing is the lock."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(project_id.bytes[:8], "big", signed=True)
        session.execute(select(func.pg_advisory_xact_lock(key)))
    else:
        session.execute(update(Person).where(false()).values(full_name=Person.full_name))


def joined_payload(session: Session, person: Person, visit: Visit) -> dict[str, Any]:
    """Seed 004's ``person_joined`` payload, with the visit."""
    project = session.get(Project, person.project_id)
    return {
        "event": "person_joined",
        "timestamp": visit.entry_time,
        "person": {name: getattr(person, name) for name in ("id", "full_name", *OBSERVED_FIELDS)},
        "organization": {"id": project.id, "name": project.name},
        "visit": {
            "id": visit.id,
            "entry_time": visit.entry_time,
            "exit_time": visit.exit_time,
            "returning": visit.is_returning,
            "similarity": visit.similarity,
        },
    }


# ---- persons ------------------------------------------------------------------------------


def person_fields(person: Person) -> dict[str, Any]:
    """A person without biometric data, as lists and details show them."""
    return {
        "id": person.id,
        **{name: getattr(person, name) for name in EDITABLE_FIELDS},
        "entry_time": person.entry_time,
        "exit_time": person.exit_time,
        "created_at": person.created_at,
        "updated_at": person.updated_at,
        "has_biometrics": person.vector is not None,
    }


def get_person(session: Session, ctx: Context, person_id: uuid.UUID) -> Person:
    return get_scoped(session, Person, ctx.project_id, person_id, what="Person")


def list_persons(session: Session, ctx: Context, page: int, page_size: int) -> dict[str, Any]:
    """One page in seed 004's envelope, most recently seen first."""
    count = session.scalar(
        select(func.count()).select_from(scoped(Person, ctx.project_id).subquery())
    )
    total_pages = max(1, math.ceil(count / page_size))
    persons = session.scalars(
        scoped(Person, ctx.project_id)
        .order_by(Person.updated_at.desc(), Person.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return {
        "count": count,
        "total_pages": total_pages,
        "current_page": page,
        "page_size": page_size,
        "has_next": page < total_pages,
        "has_previous": page > 1,
        "next_page": page + 1 if page < total_pages else None,
        "previous_page": page - 1 if page > 1 else None,
        "results": [person_fields(person) for person in persons],
    }


def update_person(
    session: Session, ctx: Context, person_id: uuid.UUID, changes: dict[str, Any]
) -> Person:
    person = get_person(session, ctx, person_id)
    for name, value in changes.items():
        setattr(person, name, value)
    session.flush()
    return person


def erase_person(session: Session, ctx: Context, person_id: uuid.UUID) -> None:
    """Delete a person with their visits, vector, image and index entry (right to erasure);
    their carts stay as orders, no longer linked to anyone."""
    person = get_person(session, ctx, person_id)
    image_key = person.image_key
    record_change(session, ctx.project_id, person.id, removed=True)
    carts.unlink_person(session, ctx, person.id)
    session.delete(person)
    session.flush()
    if image_key:
        runtime().storage.delete(image_key)


def biometrics(session: Session, ctx: Context, person_id: uuid.UUID) -> dict[str, Any]:
    person = get_person(session, ctx, person_id)
    return {
        "person_id": person.id,
        "vector": unpack_vector(person.vector) if person.vector else None,
        "image_url": (
            f"/api/v1/persons/{ctx.project_id}/{person.id}/image" if person.image_key else None
        ),
    }


def person_image(session: Session, ctx: Context, person_id: uuid.UUID) -> tuple[bytes, str]:
    """The person's image and its media type; ``NotFound`` once erased or never taken."""
    person = get_person(session, ctx, person_id)
    data = runtime().storage.load(person.image_key) if person.image_key else None
    if data is None:
        raise NotFound(f"Person {person_id} has no image")
    return data, MEDIA_TYPES[person.image_key.rsplit(".", 1)[1]]


def purge_expired_biometrics(session: Session, now: datetime | None = None) -> int:
    """Erase vectors and images captured more than the retention period ago; visits stay."""
    days = setting("NEBULO_PERSONS_BIOMETRICS_RETENTION_DAYS")
    cutoff = (now or utcnow()) - timedelta(days=days)
    expired = session.execute(
        select(Person.id, Person.project_id, Person.image_key).where(Person.biometrics_at < cutoff)
    ).all()
    for person_id, project_id, _ in expired:
        record_change(session, project_id, person_id, removed=True)
    session.execute(
        update(Person)
        .where(Person.id.in_([row.id for row in expired]))
        .values(vector=None, image_key=None, biometrics_at=None)
    )
    session.flush()
    for _, _, image_key in expired:
        if image_key:
            runtime().storage.delete(image_key)
    return len(expired)


def prune_gallery_changes(session: Session, now: datetime | None = None) -> int:
    """Delete gallery changes older than every index still catches up from (see
    ``index.CHANGE_LOG_KEPT``): indexes and saved graphs that old are rebuilt instead."""
    from plugins.persons.index import CHANGE_LOG_KEPT

    cutoff = (now or utcnow()) - CHANGE_LOG_KEPT
    return session.execute(delete(GalleryChange).where(GalleryChange.created_at < cutoff)).rowcount
