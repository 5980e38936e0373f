"""SQLite writers take turns through a lock file, released when their transaction ends."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from core.db import make_engine
from core.sqlite_writers import connection_factory


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT)"))
    yield engine
    engine.dispose()


def _insert_in_thread(engine, body: str, done: threading.Event) -> threading.Thread:
    def write() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO notes VALUES (:body)"), {"body": body})
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_a_writer_waits_for_the_turn_and_gets_it_when_the_holder_commits(engine, tmp_path):
    assert (tmp_path / "turns.db.writer").exists()
    done = threading.Event()
    with engine.connect() as holder:
        holder.execute(text("INSERT INTO notes VALUES ('first')"))
        thread = _insert_in_thread(engine, "second", done)
        assert not done.wait(0.3), "the second writer must wait for the first"
        holder.commit()
        assert done.wait(5)
    thread.join()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT body FROM notes")).scalars().all() == [
            "first",
            "second",
        ]


@pytest.mark.parametrize("end", ["rollback", "close"])
def test_the_turn_ends_with_a_rollback_or_a_closed_connection(engine, end):
    done = threading.Event()
    holder = engine.connect()
    holder.execute(text("INSERT INTO notes VALUES ('dropped')"))
    thread = _insert_in_thread(engine, "kept", done)
    assert not done.wait(0.2)
    getattr(holder, end)()
    assert done.wait(5)
    thread.join()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT body FROM notes")).scalars().all() == ["kept"]


def test_readers_never_wait_for_a_writer(engine):
    with engine.connect() as holder:
        holder.execute(text("INSERT INTO notes VALUES ('pending')"))
        started = time.monotonic()
        with engine.connect() as reader:
            assert reader.execute(text("SELECT count(*) FROM notes")).scalar() == 0
        assert time.monotonic() - started < 1
        holder.rollback()


def test_a_writer_that_waits_too_long_is_told_the_database_is_locked(tmp_path):
    path = str(tmp_path / "locked.db")
    factory = connection_factory(path, timeout=0.2)
    first = sqlite3.connect(path, factory=factory, check_same_thread=False)
    first.execute("CREATE TABLE t (x)")
    first.execute("INSERT INTO t VALUES (1)")
    errors: list[Exception] = []

    def second_writer() -> None:
        second = sqlite3.connect(path, factory=factory, timeout=0.2)
        try:
            second.execute("INSERT INTO t VALUES (2)")
        except sqlite3.OperationalError as error:
            errors.append(error)
        finally:
            second.close()

    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join(5)
    first.commit()
    first.close()
    assert [str(error) for error in errors] == ["database is locked"]
