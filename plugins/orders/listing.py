"""The orders list page, built for throughput: it is the busiest read of the API.

A page of 50 orders with their items is about 2,000 field values. Building an ORM object per
order and per item, then dumping them through marshmallow's generic machinery, cost several
times the SQL; so did a round trip per query. So the page is one statement: the orders as
plain rows, their total (``core.pagination``) and each order's items as one JSON array. They
are dumped by a :func:`compile_dumper` of the very same ``OrderSchema``: the same fields, keys
and formatting, with marshmallow's per-value overhead paid once per schema.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from collections.abc import Callable, Sequence
from operator import attrgetter, itemgetter
from typing import Any

from marshmallow import Schema, fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from sqlalchemy import JSON, Select, Table, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from core.context import Context
from core.db import Base, Money, money_as_float
from core.pagination import paginate_rows
from plugins.orders import schemas
from plugins.orders.models import Order, OrderItem

Dumper = Callable[[Any], dict[str, Any]]

UNCHANGED_BY_DUMP = {fields.String: str, fields.Integer: int, fields.Boolean: bool}
"""Field classes whose dump returns a value of this Python type unchanged (None included)."""


class json_rows(FunctionElement[Any]):  # noqa: N801 - named like the SQL functions
    """``json_rows(a, b)``: an aggregate, the JSON array of ``[a, b]`` of every row; NULL for
    none. In no particular order: SQLite before 3.44 cannot order an aggregate."""

    type = JSON()
    inherit_cache = True
    name = "json_rows"


@compiles(json_rows)
def _json_rows(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_agg(json_build_array({compiler.process(element.clauses, **kw)}))"


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


FROM_JSON: dict[type[fields.Field], Callable[[Any], Any] | None] = {
    fields.UUID: lambda value: value if len(value) == 36 else str(uuid.UUID(value)),  # SQLite: hex
    fields.String: None,
    fields.Integer: int,
    fields.Boolean: bool,  # SQLite writes 0 and 1
    schemas.Money: float,  # PostgreSQL writes 3.0 as 3
}
"""How a non-None JSON value of a column is dumped, by field class; other fields cannot be
dumped from JSON (a time would come in each database's own format)."""


def json_columns(model: type[Base], names: Sequence[str]) -> list[Any]:
    """Columns ``names`` of ``model`` for :class:`json_rows`, amounts as floats: JSON has no
    exact decimals, and the float of an exact two-decimal amount (the nearest double, which
    the database computes as Python does) is what ``schemas.Money`` writes anyway."""
    columns = [model.__table__.columns[name] for name in names]  # type: ignore[attr-defined]
    return [
        money_as_float(column).label(column.key) if isinstance(column.type, Money) else column
        for column in columns
    ]


def record_type(model: type[Base], names: Sequence[str] | None = None) -> type:
    """A named tuple of ``model``'s table columns (or of ``names``) that also has the model's
    Python properties (``Order.customer``), so that a row reads like an instance at C speed."""
    table: Table = model.__table__  # type: ignore[assignment]
    properties = {
        name: value
        for cls in reversed(model.__mro__)
        for name, value in vars(cls).items()
        if isinstance(value, property)
    }
    column_names = names or table.columns.keys()
    columns = namedtuple(f"{model.__name__}Columns", column_names)  # type: ignore[misc]
    return type(f"{model.__name__}Record", (columns,), {"__slots__": (), **properties})


def compile_dumper(
    schema: Schema, model: type[Base] | None = None, *, from_json: bool = False
) -> Dumper:
    """A function dumping one record exactly as ``schema.dump`` does, but faster.

    Records are :func:`record_type` tuples of ``model``'s columns, or
    mappings when ``model`` is None (a property's dict); ``from_json`` when the columns come
    as JSON values (:class:`json_rows`). A field over a column whose dump changes nothing is
    copied; nested schemas are compiled too; any other field keeps its own ``_serialize``. A
    schema with dump hooks, or with a field that is neither a column nor a property of
    ``model``, or not in ``FROM_JSON``, is refused: the compiled form would silently differ."""
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]:
        raise ValueError(f"{type(schema).__name__} has dump hooks; dump it with marshmallow")
    columns = model.__table__.columns if model is not None else {}  # type: ignore[attr-defined]
    plan = []
    for name, field in schema.dump_fields.items():
        attribute = field.attribute or name
        is_property = not from_json and isinstance(getattr(model, attribute, None), property)
        readable = attribute in columns or is_property
        if model is not None and not readable:
            raise ValueError(f"{type(schema).__name__}.{name} is not read from {model}")
        read = attrgetter(attribute) if model is not None else itemgetter(attribute)
        convert = _from_json(field) if from_json else _converter(field, columns.get(attribute))
        plan.append((field.data_key or name, read, convert))

    def dump(record: Any) -> dict[str, Any]:
        return {
            key: value if convert is None or value is None else convert(value)
            for key, read, convert in plan
            for value in (read(record),)
        }

    return dump


def _converter(field: fields.Field, column: Any) -> Callable[[Any], Any] | None:
    """How a non-None value of ``field`` is dumped; None when it is copied as it is."""
    if isinstance(field, fields.Nested) and not field.many:
        return compile_dumper(field.schema)
    if column is not None and UNCHANGED_BY_DUMP.get(type(field)) is column.type.python_type:
        return None
    if isinstance(field, schemas.Money) and column is not None and isinstance(column.type, Money):
        return float  # the column already reads exact cents
    serialize = field._serialize
    return lambda value: serialize(value, None, None)


def _from_json(field: fields.Field) -> Callable[[Any], Any] | None:
    field_class = next((cls for cls in type(field).__mro__ if cls in FROM_JSON), None)
    if field_class is None:
        raise ValueError(f"{type(field).__name__} fields cannot be dumped from JSON")
    return FROM_JSON[field_class]


OrderRecord = record_type(Order)
ITEM_COLUMNS = (
    "position",
    *(field.attribute or name for name, field in schemas.ItemSchema().dump_fields.items()),
)
"""What the list reads of an item: what ItemSchema dumps, and the position that orders them."""
ItemRecord = record_type(OrderItem, ITEM_COLUMNS)
dump_order_fields: Dumper = compile_dumper(schemas.OrderSchema(exclude=("items",)), Order)
dump_item: Dumper = compile_dumper(schemas.ItemSchema(), OrderItem, from_json=True)
ITEMS = "_items"
by_position = attrgetter("position")


def order_page(
    session: Session, ctx: Context, orders: Select, args: dict[str, Any]
) -> list[dict[str, Any]]:
    """One page of ``orders`` (a ``services.list_orders`` select) as
    ``OrderSchema(many=True).dump`` gives them, items included; sets the pagination header."""
    items = (
        select(json_rows(*json_columns(OrderItem, ITEM_COLUMNS)))
        .where(OrderItem.project_id == ctx.project_id, OrderItem.order_id == Order.id)
        .scalar_subquery()
    )
    statement = orders.with_only_columns(*Order.__table__.columns, items.label(ITEMS))
    page = []
    for *columns, item_rows in paginate_rows(session, statement, args):
        order_items = sorted(map(ItemRecord._make, item_rows or ()), key=by_position)
        page.append(
            {
                **dump_order_fields(OrderRecord._make(columns)),
                "items": [dump_item(item) for item in order_items],
            }
        )
    return page
