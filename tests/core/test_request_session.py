"""How a request's session ends: a transaction that only read is committed (psycopg forgets
its prepared statements on ROLLBACK), anything the route wrote and did not commit is rolled
back, and so is everything when the request failed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from core.db import close_request_session, get_session
from core.projects.models import Project


@contextmanager
def _transaction_ends(app) -> Iterator[list[str]]:
    engine = app.extensions["nebulo"].db.engine
    ends: list[str] = []
    listeners = {
        name: lambda _conn, name=name: ends.append(name) for name in ("commit", "rollback")
    }
    for name, listener in listeners.items():
        event.listen(engine, name, listener)
    try:
        yield ends
    finally:
        for name, listener in listeners.items():
            event.remove(engine, name, listener)


def _request(app, work: Callable[[Session], None], error: Exception | None = None) -> list[str]:
    """Runs ``work`` on a request's session, ends the request; how its transaction ended."""
    with app.test_request_context(), _transaction_ends(app) as ends:
        work(get_session())
        close_request_session(error)
    return ends


def _name(app, project: dict) -> str:
    with app.extensions["nebulo"].db.session_scope() as session:
        return session.get(Project, uuid.UUID(project["id"])).name


def test_a_request_that_only_read_commits(app, project):
    def read(session: Session) -> None:
        session.execute(select(Project.name)).all()

    assert _request(app, read) == ["commit"]


def test_a_write_the_route_did_not_commit_is_rolled_back(app, project):
    def write(session: Session) -> None:
        session.execute(update(Project).values(name="Not meant"))

    assert _request(app, write) == ["rollback"]
    assert _name(app, project) == project["name"]


def test_an_unflushed_change_is_rolled_back_not_flushed(app, project):
    def change(session: Session) -> None:
        session.get(Project, uuid.UUID(project["id"])).name = "Not meant either"

    assert _request(app, change) == ["rollback"]
    assert _name(app, project) == project["name"]


def test_a_failed_request_rolls_back_even_what_only_read(app, project):
    def read(session: Session) -> None:
        session.execute(select(Project.name)).all()

    assert _request(app, read, RuntimeError("the view failed")) == ["rollback"]


def test_a_request_that_never_used_its_session_ends_nothing(app):
    assert _request(app, lambda session: None) == []
