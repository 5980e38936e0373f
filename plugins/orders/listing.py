"""The orders list page, built for throughput: it is the busiest read of the API.

A page of 50 orders with their items is about 2,000 field values. Building an ORM object per
order and per item, then dumping them through marshmallow's generic machinery, cost several
times the SQL; so did a round trip per query, and so did reading values only to convert them
again (a UUID parsed then printed, an exact amount rounded then made a float, a time's zone
looked up then taken off); so did building the statement and keying it for SQLAlchemy's
compiled cache on every request. So the page is one statement, built once for each kind of
filter (``services.OrderQuery``), whose columns already are what the JSON holds wherever the
database converts for next to nothing: ids as text, amounts as floats, times as UTC wall
times. It also carries the total (``core.pagination``) and each order's items as one JSON
text. A :func:`dump_plan` of the very same ``OrderSchema`` chooses those columns and dumps
each row with the same fields, keys and formatting.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import orjson
from marshmallow import Schema, fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from sqlalchemy import DateTime, Text, Uuid, bindparam, func, literal_column, null, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from core.context import Context
from core.db import Base, Money, UTCDateTime, money_as_float
from core.pagination import CountedPage, counted_page, page_rows
from core.schemas import isoformat_z
from plugins.orders import schemas, services
from plugins.orders.models import Order, OrderCounter, OrderItem

Dumper = Callable[[Sequence[Any]], dict[str, Any]]
Read = Callable[[Sequence[Any]], Any]

DATETIME_SERIALIZE = fields.DateTime._serialize
"""How every ``DateTime`` field dumps, unless a subclass dumps its own way."""
UNCHANGED_BY_DUMP = {fields.String: str, fields.Integer: int, fields.Boolean: bool}
"""Field classes whose dump returns a value of this Python type unchanged (None included)."""

FROM_JSON: dict[type[fields.Field], Callable[[Any], Any] | None] = {
    fields.UUID: None,  # read as uuid_text
    fields.String: None,
    fields.Integer: None,
    fields.Boolean: bool,  # SQLite writes 0 and 1
    schemas.Money: float,  # read as money_as_float, which PostgreSQL writes 3.0 as 3
}
"""How a non-None JSON value of a column is dumped, by field class; other fields cannot be
dumped from JSON (a time would come in each database's own format)."""


class json_rows(FunctionElement[str]):  # noqa: N801 - named like the SQL functions
    """``json_rows(a, b)``: an aggregate, the JSON text of the array of ``[a, b]`` of every
    row; NULL for none. In no particular order: SQLite before 3.44 cannot order an aggregate.
    Text rather than JSON, so that orjson parses it rather than the driver's json module."""

    type = Text()
    inherit_cache = True
    name = "json_rows"


@compiles(json_rows)
def _json_rows(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"CAST(json_agg(json_build_array({compiler.process(element.clauses, **kw)})) AS TEXT)"


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


class uuid_text(FunctionElement[str]):  # noqa: N801 - named like the SQL functions
    """``uuid_text(Model.id)``: a UUID column as ``str(uuid)`` writes it, written by the
    database: the driver then builds a string, not a ``UUID`` to be printed again."""

    type = Text()
    inherit_cache = True
    name = "uuid_text"


@compiles(uuid_text)
def _uuid_text(element: uuid_text, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


@compiles(uuid_text, "sqlite")
def _uuid_text_sqlite(element: uuid_text, compiler: Any, **kw: Any) -> str:
    """SQLite keeps a UUID as its 32 lowercase hex digits: hyphenated 8-4-4-4-12."""
    hex_digits = compiler.process(element.clauses, **kw)
    return " || '-' || ".join(
        f"substr({hex_digits}, {start}, {length})"
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    )


class utc_time(FunctionElement[datetime]):  # noqa: N801 - named like the SQL functions
    """``utc_time(Model.created_at)``: a ``UTCDateTime`` column read as a naive UTC wall time.
    PostgreSQL then sends no zone, and the driver parses such a time several times faster
    than one with a zone to look up."""

    type = DateTime()
    inherit_cache = True
    name = "utc_time"


@compiles(utc_time)
def _utc_time(element: utc_time, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC')"


@compiles(utc_time, "sqlite")
def _utc_time_sqlite(element: utc_time, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)  # stored as UTC wall time already


JSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
"""How a dumped row is written: its ISO times are naive UTC wall times (:class:`utc_time`),
which orjson then writes as :func:`core.schemas.isoformat_z` would ("...T04:41:00.5Z"), in
Rust rather than with a Python call per value."""


@dataclass(frozen=True)
class DumpPlan:
    """What to select for a schema, and how a row of it is dumped."""

    columns: tuple[Any, ...]
    """The SQL expressions to select, in this order: one per field of the schema read from
    a column, then the columns that its property fields read."""
    dump: Dumper
    """A row of ``columns`` (a longer one is fine) as ``schema.dump`` gives the record, once
    written with :data:`JSON_OPTIONS`: ISO times stay naive UTC ``datetime`` values."""


def dump_plan(
    schema: Schema,
    model: type[Base],
    *,
    property_columns: Mapping[str, Sequence[str] | ColumnElement[Any]] | None = None,
    from_json: bool = False,
) -> DumpPlan:
    """The columns to select for dumping ``model``'s records with ``schema``, and the dumper.

    A field over a column selects the column in the form its dump writes, when the database
    can write it so (a UUID as text, an amount as a float); whatever else its dump does runs
    on the value read. A field over a property of ``model`` runs the property on the columns
    that ``property_columns`` names for it, or selects the SQL expression given there instead,
    which must write what the field dumps (the tests compare the two). ``from_json`` when the
    row comes as a JSON array (:class:`json_rows` of ``columns``). A schema with dump hooks,
    or with a field that is neither a column nor a property of ``model``, or not in
    ``FROM_JSON``, is refused: the dump would silently differ."""
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]:
        raise ValueError(f"{type(schema).__name__} has dump hooks; dump it with marshmallow")
    table_columns = model.__table__.columns  # type: ignore[attr-defined]
    property_columns = property_columns or {}
    fields_read = [
        (field.data_key or name, field.attribute or name, field)
        for name, field in schema.dump_fields.items()
    ]
    columns: list[Any] = []
    read_by_properties: list[Any] = []
    rework: list[tuple[str, Read]] = []
    for key, attribute, field in fields_read:
        if attribute in table_columns:
            column, convert = _column_form(field, table_columns[attribute], from_json)
            if convert is not None:
                rework.append((key, _reader(len(columns), convert)))
            columns.append(column.label(attribute))
        elif not from_json and isinstance(getattr(model, attribute, None), property):
            if attribute not in property_columns:
                raise ValueError(f"which columns {model.__name__}.{attribute} reads is not said")
            names = property_columns[attribute]
            if isinstance(names, ColumnElement):  # the database writes the dumped value
                columns.append(names.label(attribute))
                continue
            start = len(fields_read) + len(read_by_properties)
            rework.append((key, _property_reader(model, attribute, names, start, field)))
            read_by_properties.extend(table_columns[name] for name in names)
            columns.append(null().label(attribute))  # holds the key's place in the record
        else:
            raise ValueError(f"{type(schema).__name__}.{key} is not read from {model}")
    keys = tuple(key for key, _, _ in fields_read)

    def dump(row: Sequence[Any]) -> dict[str, Any]:
        # one C call copies every value the database wrote as the dump does (most of them);
        # the rest are then replaced in place, which keeps the schema's key order
        record = dict(zip(keys, row, strict=False))  # a row may hold more
        for key, read in rework:
            record[key] = read(row)
        return record

    return DumpPlan((*columns, *read_by_properties), dump)


def _column_form(
    field: fields.Field, column: Any, from_json: bool
) -> tuple[Any, Callable[[Any], Any] | None]:
    """The form in which ``column`` is selected for ``field``, and what its dump still does
    to a non-None value (None when it copies it)."""
    if isinstance(field, fields.UUID) and isinstance(column.type, Uuid):
        form, convert = uuid_text(column), None
    elif isinstance(field, schemas.Money) and isinstance(column.type, Money):
        form, convert = money_as_float(column), None  # the float of the exact amount
    elif UNCHANGED_BY_DUMP.get(type(field)) is column.type.python_type:
        form, convert = column, None
    elif isinstance(column.type, UTCDateTime) and type(field)._serialize is DATETIME_SERIALIZE:
        # ISO times are left to orjson (:data:`JSON_OPTIONS`), which writes them as the field
        written_by = field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
        by_orjson = written_by is isoformat_z
        form, convert = utc_time(column), None if by_orjson else _utc_time_formatter(field)
    else:
        form, convert = column, _serializer(field)
    if from_json:
        field_class = next((cls for cls in type(field).__mro__ if cls in FROM_JSON), None)
        if field_class is None:
            raise ValueError(f"{type(field).__name__} fields cannot be dumped from JSON")
        convert = FROM_JSON[field_class]
    return form, convert


def _utc_time_formatter(field: fields.DateTime) -> Callable[[datetime], Any]:
    """``field``'s dump of a UTC wall time (:class:`utc_time`): what its ``_serialize`` does,
    with the format function looked up once rather than for every value."""
    format_time = field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
    if format_time is None:
        pattern = field.format
        return lambda value: value.replace(tzinfo=UTC).strftime(pattern)
    return lambda value: format_time(value.replace(tzinfo=UTC))


def _serializer(field: fields.Field) -> Callable[[Any], Any]:
    if isinstance(field, fields.Nested) and not field.many:
        return _mapping_dumper(field.schema)
    serialize = field._serialize
    return lambda value: serialize(value, None, None)


def _mapping_dumper(schema: Schema) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """``schema.dump`` of a mapping (a property's dict), field by field."""
    steps = [
        (field.data_key or name, itemgetter(field.attribute or name), _serializer(field))
        for name, field in schema.dump_fields.items()
    ]

    def dump(mapping: Mapping[str, Any]) -> dict[str, Any]:
        return {
            key: None if value is None else serialize(value)
            for key, read, serialize in steps
            for value in (read(mapping),)
        }

    return dump


def _reader(index: int, convert: Callable[[Any], Any] | None) -> Read:
    if convert is None:
        return itemgetter(index)
    return lambda row: None if (value := row[index]) is None else convert(value)


def _property_reader(
    model: type[Base], attribute: str, names: Sequence[str], start: int, field: fields.Field
) -> Read:
    """Runs the property ``model.attribute`` on a record of the columns ``names``, found in
    the row from ``start``: a property that reads another column fails (AttributeError)
    rather than dumps something else."""
    columns = namedtuple(f"{model.__name__}{attribute.title()}Columns", names)  # type: ignore[misc]
    make_record = type(
        f"{model.__name__}{attribute.title()}Record",
        (columns,),
        {"__slots__": (), attribute: getattr(model, attribute)},
    )._make
    convert = _serializer(field)
    end = start + len(names)

    def read(row: Sequence[Any]) -> Any:
        value = getattr(make_record(row[start:end]), attribute)
        return None if value is None else convert(value)

    return read


@functools.cache
def page_plans() -> tuple[DumpPlan, DumpPlan]:
    """The plans of an order and of an item, made on first use: a foreign key column takes
    its type (``Uuid``) only once the table it points to is mapped."""
    order_plan = dump_plan(
        schemas.OrderSchema(exclude=("items",)),
        Order,
        property_columns={
            "customer": ("customer_name", "customer_email", "customer_phone"),
            "net_total": money_as_float(Order.total - Order.refunded),
        },
    )
    return order_plan, dump_plan(schemas.ItemSchema(), OrderItem, from_json=True)


by_position = itemgetter(-1)


@functools.lru_cache(maxsize=256)
def counted_order_page(shape: tuple[str, ...]) -> CountedPage:
    """The page statement of a list of orders of ``shape`` (``services.OrderQuery``), built
    once and run with each request's values."""
    order_plan, item_plan = page_plans()
    orders, items = Order.__table__.c, OrderItem.__table__.c
    conditions, ordering = services.order_criteria(shape)
    items_json = (
        select(json_rows(*item_plan.columns, items.position))
        .where(items.project_id == bindparam("project_id"), items.order_id == orders.id)
        .scalar_subquery()
    )
    page = select(*order_plan.columns, items_json).where(*conditions).order_by(*ordering)
    if len(conditions) > 1:
        return counted_page(page, select(orders.id).where(*conditions))
    kept = OrderCounter.__table__.c  # all of the project's orders: their count is kept
    total = select(kept.order_count).where(kept.project_id == bindparam("project_id"))
    return counted_page(
        page, total=select(func.coalesce(total.scalar_subquery(), literal_column("0")))
    )


def order_page_json(session: Session, ctx: Context, filters: dict[str, Any]) -> bytes:
    """The JSON of one page of the orders matching ``filters`` (``services.list_orders``) as
    ``OrderSchema(many=True)`` writes them, items included; sets the pagination header."""
    return orjson.dumps(_order_page(session, ctx, filters), option=JSON_OPTIONS) + b"\n"


def _order_page(session: Session, ctx: Context, filters: dict[str, Any]) -> list[dict[str, Any]]:
    query = services.order_query(ctx, filters)
    order_plan, item_plan = page_plans()
    page = []
    for row in page_rows(session, counted_order_page(query.shape), filters, query.values):
        order = order_plan.dump(row)
        items = sorted(orjson.loads(row[-1] or "[]"), key=by_position)
        order["items"] = [item_plan.dump(item) for item in items]
        page.append(order)
    return page
