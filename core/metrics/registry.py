"""What a metric is: a measure over a plugin's table, dated by one column, with dimensions.

Plugins declare metrics in ``register_metrics(register)``; the plugin manager validates each
with :func:`validate_metric` and keeps them by name. The engine (:mod:`core.metrics.engine`)
compiles any query over them; nothing else in the framework computes a figure.

Example (a plugin's ``metrics.py``)::

    Metric(
        name="revenue", label="Revenue", unit="money", measure="sum",
        source=orders, expression=orders.c.total, time_column=orders.c.order_date,
        project_column=orders.c.project_id,
        condition=orders.c.status.not_in(["cancelled", "refunded"]),
        dimensions=(Dimension("status", "Status", orders.c.status, values=ORDER_STATUSES),),
        words=("sales", "turnover"), examples=("How much did we sell last week?",),
        permission="view_order",
    )
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Date, Float, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, FromClause
from sqlalchemy.sql.functions import FunctionElement

MEASURES = ("count", "sum", "avg", "min", "max", "count_distinct", "ratio")
UNITS = ("money", "count", "percent", "duration", "number")
TIME_GRAINS = ("hour", "weekday", "day", "week", "month")
"""Dimensions every dated metric has: buckets of its time column in the project's zone."""
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
PROJECT_TODAY = bindparam("project_today", type_=Date())
"""Today in the project's time zone, set by the engine whenever it reads: for a figure about
now whose condition compares dates (``memberships.c.end_period >= PROJECT_TODAY``), so that
it turns over at the project's midnight, not the database server's."""


@dataclass(frozen=True)
class Dimension:
    """Something a metric can be grouped and filtered by.

    ``values`` lists every value when the set is fixed (statuses): a filter on another value
    is refused. Without it, filter values are checked against the project's own data."""

    name: str
    label: str
    expression: ColumnElement[Any]
    values: tuple[str, ...] | None = None
    words: tuple[str, ...] = ()


def describe_dimension(dimension: Dimension) -> dict[str, Any]:
    return {
        "name": dimension.name,
        "label": dimension.label,
        "values": list(dimension.values) if dimension.values is not None else None,
        "words": list(dimension.words),
    }


@dataclass(frozen=True)
class Metric:
    """A figure a plugin offers.

    ``measure`` is applied to ``expression`` over the rows of ``source`` (a table or a join)
    that belong to the project (``project_column``), fall in the period (``time_column``;
    ``None`` for a figure about now, like customers at risk) and satisfy ``condition``.
    A ``ratio`` is ``numerator / denominator``, two metric names over the same source;
    ``percent`` ratios are multiplied by 100. ``unit`` ``money`` is in the project's
    currency and exact (``Decimal``); ``duration`` is in seconds."""

    name: str
    label: str
    unit: str
    measure: str
    permission: str
    source: FromClause | None = None
    project_column: ColumnElement[Any] | None = None
    time_column: ColumnElement[Any] | None = None
    expression: ColumnElement[Any] | None = None
    condition: ColumnElement[bool] | None = None
    numerator: str | None = None
    denominator: str | None = None
    dimensions: tuple[Dimension, ...] = ()
    description: str = ""
    words: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    plugin: str = field(default="", compare=False)

    def dimension(self, name: str) -> Dimension | None:
        """The declared dimension called ``name`` (time grains are not declared)."""
        return next((d for d in self.dimensions if d.name == name), None)

    @property
    def dimension_names(self) -> tuple[str, ...]:
        grains = TIME_GRAINS if self.time_column is not None else ()
        return (*(d.name for d in self.dimensions), *grains)

    def describe(self) -> dict[str, Any]:
        """What the metric listing (REST, assistant tools) shows about it."""
        return {
            "name": self.name,
            "label": self.label,
            "unit": self.unit,
            "measure": self.measure,
            "description": self.description,
            "dated": self.time_column is not None,
            "dimensions": list(self.dimension_names),
            "words": list(self.words),
            "examples": list(self.examples),
            "plugin": self.plugin,
        }


def validate_metric(metric: Any) -> list[str]:
    """What is wrong with ``metric`` (empty when it can be registered)."""
    if not isinstance(metric, Metric):
        return ["it is not a core.metrics.Metric"]
    problems = []
    if not re.match(NAME_PATTERN, metric.name or ""):
        problems.append(f"name {metric.name!r} is not lower_snake_case")
    if metric.measure not in MEASURES:
        problems.append(f"measure {metric.measure!r} is not one of {', '.join(MEASURES)}")
    if metric.unit not in UNITS:
        problems.append(f"unit {metric.unit!r} is not one of {', '.join(UNITS)}")
    if not metric.permission:
        problems.append("it names no permission")
    if metric.measure == "ratio":
        if not (metric.numerator and metric.denominator):
            problems.append("a ratio needs a numerator and a denominator metric")
    else:
        if metric.source is None or metric.project_column is None:
            problems.append("it needs a source and the source's project_id column")
        if metric.measure != "count" and metric.expression is None:
            problems.append(f"a {metric.measure} needs an expression")
    names = [d.name for d in metric.dimensions]
    for name in names:
        if not re.match(NAME_PATTERN, name):
            problems.append(f"dimension {name!r} is not lower_snake_case")
        if name in TIME_GRAINS:
            problems.append(f"dimension {name!r} is a built-in time grain")
    if len(set(names)) != len(names):
        problems.append("two dimensions share a name")
    return problems


class seconds_between(FunctionElement[float]):  # noqa: N801 - named like the SQL functions
    """``seconds_between(later, earlier)``: the seconds from one UTC time column to another,
    on PostgreSQL and SQLite alike; the expression of a ``duration`` metric."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_between(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"
