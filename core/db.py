"""Storage: SQLAlchemy 2.x engine and sessions, the declarative base, column types and the
tenant-scoped query helpers that every project-scoped read and write goes through.

The same code serves SQLite (embedded: WAL, foreign keys on) and PostgreSQL (psycopg 3).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from flask import Flask, g, has_app_context
from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    MetaData,
    Numeric,
    Select,
    Table,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    declared_attr,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, Uuid

from core.errors import NotFound
from core.sqlite_writers import connection_factory

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone-aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


CENT = Decimal("0.01")


class Money(TypeDecorator):
    """An exact amount with two decimals, as ``Decimal`` in Python.

    PostgreSQL stores ``NUMERIC(14, 2)``. SQLite has no exact decimal type (its NUMERIC keeps
    12.34 as a float), so there the amount is stored as integer cents; SUM over cents stays
    exact and the result comes back as ``Decimal`` through this same type.
    """

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        amount = to_money(value)
        return int(amount * 100) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(str(value)) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        return to_money(value)


class money_as_float(FunctionElement[float]):  # noqa: N801 - named like the SQL functions
    """``money_as_float(Model.amount)``: a Money column as a float, computed by the database.
    For model features: building a ``Decimal`` per value only to turn it into a float costs
    more than reading the row."""

    type = Float()
    inherit_cache = True
    name = "money_as_float"


@compiles(money_as_float)
def _money_as_float(element: money_as_float, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DOUBLE PRECISION)"


@compiles(money_as_float, "sqlite")
def _money_as_float_from_cents(element: money_as_float, compiler: Any, **kw: Any) -> str:
    return f"(({compiler.process(element.clauses, **kw)}) / 100.0)"  # of an expression too


def to_money(value: Any) -> Decimal:
    """Two-decimal ``Decimal`` from a Decimal, int or numeric string (floats via their repr)."""
    if isinstance(value, float):
        value = repr(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid(), Decimal: Money()}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProjectScoped:
    """Rows that belong to one project (tenant); deleted with their project."""

    @declared_attr
    def project_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805 - SQLAlchemy's declared_attr
        return mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)


ModelT = TypeVar("ModelT")


def scoped(model: type[ModelT], project_id: uuid.UUID) -> Select[tuple[ModelT]]:
    """``SELECT model WHERE project_id = :project_id``: the start of every tenant query."""
    return select(model).where(model.project_id == project_id)  # type: ignore[attr-defined]


def get_scoped(
    session: Session, model: type[ModelT], project_id: uuid.UUID, row_id: Any, *, what: str = ""
) -> ModelT:
    """One row of the project, or ``NotFound``: another project's row does not exist for you."""
    row = session.get(model, row_id)
    if row is None or row.project_id != project_id:  # type: ignore[attr-defined]
        raise NotFound(f"{what or model.__name__} {row_id} not found")
    return row


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order, plus ``constants`` on every row) with one
    ``COPY`` on PostgreSQL, one driver ``executemany`` elsewhere. Values still go through their
    column types' bind processors, a column at a time; what is skipped is SQLAlchemy's per-row
    parameter compilation, which at 100,000 rows costs more than the database's own work.
    Column defaults are not applied.

    COPY rather than psycopg's ``executemany``, which runs one statement per row: a
    statement-level trigger (the orders' kept count) would run once per row, each time
    updating the same row, which grows slower with every update of the transaction."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    constants = dict(constants or {})
    names = [*columns, *constants]
    values: dict[str, list[Any]] = {}
    for index, name in enumerate(columns):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        column = [row[index] for row in rows]
        values[name] = list(map(process, column)) if process else column
    for name, value in constants.items():
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        values[name] = [process(value) if process else value] * len(rows)
    if dialect.name == "postgresql":
        quote = dialect.identifier_preparer
        copy = f"COPY {quote.format_table(table)} ({', '.join(map(quote.quote, names))}) FROM STDIN"
        with (
            connection.connection.driver_connection.cursor() as cursor,
            cursor.copy(copy) as rows_in,
        ):
            for row in zip(*(values[name] for name in names), strict=True):
                rows_in.write_row(row)
        connection.info[WROTE] = True  # the driver's COPY is not seen by _note_write
        return
    compiled = insert(table).compile(dialect=dialect, column_keys=names)
    order = compiled.positiontup or names
    rows_of_values = zip(*(values[name] for name in order), strict=True)
    parameters: list[Any] = (
        list(rows_of_values)
        if compiled.positiontup
        else [dict(zip(names, row, strict=True)) for row in rows_of_values]
    )
    connection.exec_driver_sql(compiled.string, parameters)


def upsert_insert(session: Session) -> Any:
    """The session's dialect ``insert``: the one with ``on_conflict_do_nothing`` and
    ``on_conflict_do_update`` (PostgreSQL and SQLite both have them)."""
    # Imported here: the PostgreSQL dialect is slow to import and most commands never use it.
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


class Database:
    """The engine and session factory of one app; ``session`` is the request's session."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """A session for work outside a request (jobs, CLI): commit on success, else roll back."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


SQLITE_TIMEOUT = 30.0
"""Seconds a SQLite writer waits for its turn before 'database is locked'."""


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": SQLITE_TIMEOUT}
        if parsed.database and parsed.database != ":memory:":
            # No folder is made here: only `nebulo db upgrade` creates a database (see
            # core.migrate.upgrade), so that a mistyped path fails instead of starting afresh.
            connect_args["factory"] = connection_factory(parsed.database, SQLITE_TIMEOUT)
        engine = create_engine(url, connect_args=connect_args)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
        if backend == "postgresql" and driver in ("", "psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
    event.listen(engine, "begin", _forget_writes)
    event.listen(engine, "before_cursor_execute", _note_write)
    return engine


WROTE = "nebulo_wrote"
"""Key of a connection's ``info``: a statement other than a SELECT ran in its transaction."""


def _forget_writes(connection: Connection) -> None:
    connection.info.pop(WROTE, None)


def _note_write(connection: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        connection.info[WROTE] = True


def reads_only(session: Session) -> bool:
    """Whether ``session``'s open transaction ran SELECTs only and holds no unflushed change:
    then COMMIT ends it as ROLLBACK would. (A SELECT that writes through a function would be
    missed; Nebulo calls none.)"""
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return False
    return WROTE not in session.connection().info


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def database(app: Flask | None = None) -> Database:
    from flask import current_app

    return (app or current_app).extensions["nebulo"].db


def get_session() -> Session:
    """The current request's session, opened on first use and closed when the request ends."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    return g.db_session


def rollback_request_session() -> None:
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def close_request_session(error: BaseException | None = None) -> None:
    """Ends the request's session: a transaction that only read is committed rather than
    rolled back, because psycopg forgets its prepared statements on every ROLLBACK and
    PostgreSQL would plan each statement again on the next request. Anything else the route
    did not commit is rolled back, as is everything when the request failed."""
    if not has_app_context():
        return
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        if error is None and reads_only(session):
            session.commit()
    finally:
        session.close()
