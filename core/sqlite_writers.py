"""Fair turns for the writers of one SQLite file, across threads and processes.

SQLite lets one writer in at a time, and a writer that finds the file locked polls with
sleeps that grow to 100 ms. A process that writes in a loop, such as the job worker draining
webhook deliveries, then gets the lock back before the sleepers wake: the web server's
writers starve, and requests wait for seconds. Here every connection takes an ``flock`` on
``<database>.writer`` before its first write and drops it when the transaction ends. The lock
is polled every millisecond, so a writer gets its turn soon after the current one commits.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from typing import Any

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
POLL_SECONDS = 0.001

_held = threading.local()
"""Lock files this thread holds: a thread writing through a second connection while its first
one holds the turn goes straight on (SQLite's own locking then applies, as without us)."""


class WriterConnection(sqlite3.Connection):
    """A ``sqlite3`` connection that takes the writer's turn before writing (``factory=``)."""

    lock_path: str | None = None
    lock_timeout: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock_fd: int | None = None
        self._holder: set[str] = set()

    def cursor(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        kwargs.setdefault("factory", WriterCursor)
        return super().cursor(*args, **kwargs)

    def take_turn(self) -> None:
        if self._lock_fd is not None or self.lock_path is None:
            return
        held = _held.__dict__.setdefault("paths", set())
        if self.lock_path in held:
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise sqlite3.OperationalError("database is locked") from None
                time.sleep(POLL_SECONDS)
        self._lock_fd, self._holder = fd, held
        held.add(self.lock_path)

    def end_turn(self) -> None:
        if self._lock_fd is None:
            return
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)
        self._lock_fd = None
        self._holder.discard(self.lock_path)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_turn()


class WriterCursor(sqlite3.Cursor):
    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._before(sql)
        return super().execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._before(sql)
        return super().executemany(sql, *args)

    def _before(self, sql: str) -> None:
        if sql.lstrip()[:7].upper().startswith(WRITES):
            self.connection.take_turn()


def connection_factory(database: str, timeout: float) -> type[WriterConnection]:
    """A ``WriterConnection`` subclass bound to ``database``'s lock file."""
    return type(
        "WriterConnection",
        (WriterConnection,),
        {"lock_path": os.path.abspath(database) + ".writer", "lock_timeout": timeout},
    )
