"""The one query engine: metrics + period + filters + group by + order + limit + compare.

Every figure the API, the assistant, the reports and the dashboards show comes from
:func:`run_query`. It checks the query against the registered metrics (an unknown metric,
dimension or filter value is an ``Invalid`` error listing what exists), compiles it to
SQLAlchemy Core, always scoped to the caller's project, with time buckets in the project's
time zone, and returns a :class:`MetricResult`: rows, totals, the period as dates, the
comparison and the units. Money stays ``Decimal`` from the database to the result.

Usage::

    query = MetricQuery(  # core.metrics.query
        metrics=("revenue", "orders"), period=parse_period("last month", today),
        group_by=("day",), compare="previous_period",
    )
    result = run_query(session, ctx, query)
    result.totals["revenue"], result.rows[0]["day"], result.comparison_period.start
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import String, case, cast, distinct, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from core.context import Context, project_row
from core.db import to_money
from core.errors import Invalid
from core.metrics.buckets import SERIES_GRAINS, bucket, bucket_value, series
from core.metrics.periods import COMPARISONS, Period, shift_period
from core.metrics.query import MetricQuery, MetricResult
from core.metrics.registry import TIME_GRAINS, Dimension, Metric
from core.projects.models import Project

MAX_LIMIT = 1000
MAX_GROUP_BY = 2
KNOWN_VALUES_SHOWN = 25
MAX_BUCKETS = 5000
"""Rows a time series may have: ten years by day; longer spans are grouped by week or month."""
BUCKET_DAYS = {"day": 1, "week": 7, "month": 28}


@dataclass(frozen=True)
class _Part:
    """One SQL aggregate a metric needs: ``kind`` is sum, count, min, max or count_distinct."""

    key: str
    kind: str
    metric: Metric


def metric_registry() -> dict[str, Metric]:
    return current_app.extensions["nebulo"].registry.metrics


def project_timezone(session: Session, project_id: Any) -> str:
    """The project's time zone; free when the request's context already read the project."""
    row = project_row(session, project_id)
    if row is not None:
        return row.timezone
    return session.scalar(select(Project.timezone).where(Project.id == project_id)) or "UTC"


def visible_metrics(ctx: Context, metrics: Mapping[str, Metric] | None = None) -> list[Metric]:
    """The metrics the caller may read, by name."""
    metrics = metric_registry() if metrics is None else metrics
    return [m for _, m in sorted(metrics.items()) if ctx.can(m.permission)]


def run_query(
    session: Session,
    ctx: Context,
    query: MetricQuery,
    metrics: Mapping[str, Metric] | None = None,
    timezone: str | None = None,
) -> MetricResult:
    """Answer ``query`` in the caller's project (see the module docstring)."""
    registry = metric_registry() if metrics is None else metrics
    timezone = timezone or project_timezone(session, ctx.project_id)
    chosen = _resolve_metrics(ctx, registry, query.metrics)
    _check_shape(chosen, query)
    filters = _resolve_filters(session, ctx, registry, chosen, query.filters)
    compiled = _Compiled(session, ctx, registry, chosen, query, filters, timezone)
    current_rows, totals = compiled.evaluate(query.period)
    result = MetricResult(
        metrics=chosen,
        period=query.period,
        timezone=timezone,
        group_by=query.group_by,
        rows=current_rows,
        totals=totals,
    )
    if query.compare:
        result.comparison_period = shift_period(query.period, query.compare)
        previous_rows, result.comparison_totals = compiled.evaluate(result.comparison_period)
        result.changes = {
            m.name: percent_change(totals[m.name], result.comparison_totals[m.name]) for m in chosen
        }
        _attach_comparison(result, previous_rows)
    result.rows = _ordered(result, query)
    return result


def percent_change(current: Any, previous: Any) -> float | None:
    """``(current - previous) / previous`` in percent, one decimal; ``None`` from zero."""
    if current is None or not previous:
        return None
    return round(
        float((Decimal(str(current)) - Decimal(str(previous))) / Decimal(str(previous))) * 100, 1
    )


def _resolve_metrics(
    ctx: Context, registry: Mapping[str, Metric], names: Iterable[str]
) -> list[Metric]:
    names = list(dict.fromkeys(names))
    if not names:
        raise Invalid("Name at least one metric", errors={"metrics": [_known(registry)]})
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise Invalid(
            f"Unknown metric {', '.join(map(repr, unknown))}",
            errors={"metrics": [_known(registry)]},
        )
    chosen = [registry[n] for n in names]
    for metric in chosen:
        ctx.require(metric.permission)
        for part in (metric.numerator, metric.denominator):
            if part is not None and (part not in registry or registry[part].measure == "ratio"):
                raise Invalid(f"Metric {metric.name!r} is a ratio of {part!r}, which is missing")
    return chosen


def _known(registry: Mapping[str, Metric]) -> str:
    return "known metrics: " + ", ".join(sorted(registry))


def _check_shape(chosen: list[Metric], query: MetricQuery) -> None:
    common = set.intersection(*(set(m.dimension_names) for m in chosen))
    listed = ", ".join(sorted(common)) or "none"
    if len(query.group_by) > MAX_GROUP_BY or len(set(query.group_by)) != len(query.group_by):
        raise Invalid(
            f"Group by at most {MAX_GROUP_BY} different dimensions",
            errors={"group_by": [f"dimensions: {listed}"]},
        )
    for name in query.group_by:
        if name not in common:
            raise Invalid(
                f"Cannot group {', '.join(m.name for m in chosen)} by {name!r}",
                errors={"group_by": [f"dimensions: {listed}"]},
            )
    for grain in set(query.group_by) & set(BUCKET_DAYS):
        if query.period.days // BUCKET_DAYS[grain] > MAX_BUCKETS:
            raise Invalid(
                f"{query.period.label} has too many {grain}s to list",
                errors={"group_by": [f"at most {MAX_BUCKETS} rows; group by week or month"]},
            )
    if query.compare is not None and query.compare not in COMPARISONS:
        raise Invalid(
            f"Unknown comparison {query.compare!r}",
            errors={"compare": [f"use one of: {', '.join(COMPARISONS)}"]},
        )
    if query.limit is not None and not 1 <= query.limit <= MAX_LIMIT:
        raise Invalid("Limit out of range", errors={"limit": [f"from 1 to {MAX_LIMIT}"]})
    if query.order is not None:
        orderable = {*query.group_by, *(m.name for m in chosen)}
        if query.order.lstrip("-") not in orderable:
            raise Invalid(
                f"Cannot order by {query.order!r}",
                errors={"order": ["one of: " + ", ".join(sorted(orderable)) + " (- to reverse)"]},
            )


def _base_metrics(registry: Mapping[str, Metric], metric: Metric) -> list[Metric]:
    if metric.measure == "ratio":
        return [registry[metric.numerator], registry[metric.denominator]]  # type: ignore[index]
    return [metric]


def _resolve_filters(
    session: Session,
    ctx: Context,
    registry: Mapping[str, Metric],
    chosen: list[Metric],
    filters: Mapping[str, Iterable[str]],
) -> dict[str, tuple[str, ...]]:
    """Each filter's values as stored: fixed values matched in any case, others checked to
    exist in the project's data (also in any case)."""
    resolved: dict[str, tuple[str, ...]] = {}
    bases = [b for m in chosen for b in _base_metrics(registry, m)]
    for name, given in filters.items():
        values = tuple(str(v) for v in given)
        dimensions = [b.dimension(name) for b in bases]
        if not values or any(d is None for d in dimensions):
            common = set.intersection(*({d.name for d in b.dimensions} for b in bases))
            raise Invalid(
                f"Cannot filter by {name!r}" if values else f"Filter {name!r} has no value",
                errors={"filters": ["dimensions: " + (", ".join(sorted(common)) or "none")]},
            )
        dimension = dimensions[0]
        if dimension.values is not None:
            by_lower = {v.lower(): v for v in dimension.values}
            missing = [v for v in values if v.lower() not in by_lower]
            canonical = tuple(by_lower[v.lower()] for v in values if v.lower() in by_lower)
            known = list(dimension.values)
        else:
            canonical, missing, known = _existing_values(session, ctx, bases[0], dimension, values)
        if missing:
            raise Invalid(
                f"Unknown {dimension.label.lower()} {', '.join(map(repr, missing))}",
                errors={"filters": [f"{name}: known values include " + ", ".join(known)]},
            )
        resolved[name] = canonical
    return resolved


def _existing_values(
    session: Session, ctx: Context, metric: Metric, dimension: Dimension, values: tuple[str, ...]
) -> tuple[tuple[Any, ...], list[str], list[str]]:
    """The stored values matching ``values`` in any case, the values not found, and some
    values that exist (to list in the error)."""
    expression = dimension.expression
    scoped = (
        select(expression).select_from(metric.source).where(metric.project_column == ctx.project_id)
    )
    found = session.scalars(
        scoped.where(
            func.lower(cast(expression, String)).in_([v.lower() for v in values])
        ).distinct()
    ).all()
    found_lower = {str(v).lower() for v in found if v is not None}
    missing = [v for v in values if v.lower() not in found_lower]
    known: list[str] = []
    if missing:
        known = sorted(
            str(v)
            for v in session.scalars(
                scoped.where(expression.is_not(None)).distinct().limit(KNOWN_VALUES_SHOWN)
            )
        )
    return tuple(v for v in found if v is not None), missing, known


class _Compiled:
    """A checked query, evaluated for its period and for its comparison period."""

    def __init__(
        self,
        session: Session,
        ctx: Context,
        registry: Mapping[str, Metric],
        chosen: list[Metric],
        query: MetricQuery,
        filters: dict[str, tuple[str, ...]],
        timezone: str,
    ):
        self.session, self.ctx, self.query = session, ctx, query
        self.chosen, self.filters, self.timezone = chosen, filters, timezone
        self.registry = registry
        self.dialect = session.get_bind().dialect.name
        parts: dict[str, _Part] = {}
        for metric in chosen:
            for base in _base_metrics(registry, metric):
                if base.measure == "avg":
                    parts[f"{base.name}__sum"] = _Part(f"{base.name}__sum", "sum", base)
                    parts[f"{base.name}__count"] = _Part(f"{base.name}__count", "count", base)
                else:
                    parts[base.name] = _Part(base.name, base.measure, base)
        self.parts = list(parts.values())

    def evaluate(self, period: Period) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """(rows keyed by the group-by values, totals) for ``period``."""
        start, end = period.bounds(self.timezone)
        by_source: dict[tuple[int, int], list[_Part]] = {}
        for part in self.parts:
            key = (id(part.metric.source), id(part.metric.time_column))
            by_source.setdefault(key, []).append(part)
        grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
        needs_total_query = bool(self.query.group_by) and any(
            p.kind == "count_distinct" for p in self.parts
        )
        totals: dict[str, Any] = {}
        for parts in by_source.values():
            for key, values in self._select(parts, start, end, self.query.group_by):
                grouped.setdefault(key, {}).update(values)
            if needs_total_query:
                for _, values in self._select(parts, start, end, ()):
                    totals.update(values)
        if not self.query.group_by:
            totals = grouped.get((), {})
        elif not needs_total_query:
            totals = _combined([values for values in grouped.values()], self.parts)
        rows = [
            {**dict(zip(self.query.group_by, key, strict=True)), **self._values(values)}
            for key, values in grouped.items()
        ]
        rows = self._with_empty_buckets(rows, period)
        return rows, self._values(totals)

    def _select(
        self, parts: list[_Part], start: Any, end: Any, group_by: tuple[str, ...]
    ) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        metric = parts[0].metric
        first = metric.condition
        shared_condition = first is not None and all(
            p.metric.condition is not None and p.metric.condition.compare(first) for p in parts
        )
        keys = [self._group_expression(metric, name, start, end) for name in group_by]
        aggregates = [
            _aggregate(p, None if shared_condition else p.metric.condition).label(f"a{i}")
            for i, p in enumerate(parts)
        ]
        statement = (
            select(*(k.label(f"g{i}") for i, k in enumerate(keys)), *aggregates)
            .select_from(metric.source)
            .where(metric.project_column == self.ctx.project_id)
        )
        if metric.time_column is not None:
            statement = statement.where(metric.time_column >= start, metric.time_column < end)
        if shared_condition:
            statement = statement.where(metric.condition)
        for name, values in self.filters.items():
            statement = statement.where(metric.dimension(name).expression.in_(values))
        if keys:
            statement = statement.group_by(*(f"g{i}" for i in range(len(keys))))
        rows = []
        for row in self.session.execute(statement):
            key = tuple(
                bucket_value(name, row[i]) if name in TIME_GRAINS else row[i]
                for i, name in enumerate(group_by)
            )
            rows.append((key, {p.key: row[len(keys) + i] for i, p in enumerate(parts)}))
        return rows

    def _group_expression(
        self, metric: Metric, name: str, start: Any, end: Any
    ) -> ColumnElement[Any]:
        if name in TIME_GRAINS:
            return bucket(self.dialect, name, metric.time_column, self.timezone, start, end)
        return metric.dimension(name).expression

    def _values(self, parts: Mapping[str, Any]) -> dict[str, Any]:
        """Each chosen metric's value from its parts' sums and counts."""
        return {metric.name: self._value(metric, parts) for metric in self.chosen}

    def _value(self, metric: Metric, parts: Mapping[str, Any]) -> Any:
        if metric.measure == "ratio":
            numerator = self._value(self.registry[metric.numerator], parts)
            denominator = self._value(self.registry[metric.denominator], parts)
            return _divide(metric.unit, numerator, denominator)
        if metric.measure == "avg":
            return _divide(
                metric.unit, parts.get(f"{metric.name}__sum"), parts.get(f"{metric.name}__count")
            )
        value = parts.get(metric.name)
        if metric.measure in ("count", "count_distinct"):
            return int(value or 0)
        if value is None and metric.measure in ("min", "max"):
            return None
        if metric.unit == "money":
            return to_money(value or 0)
        return float(value or 0)

    def _with_empty_buckets(self, rows: list[dict[str, Any]], period: Period) -> list[dict]:
        """A time series keeps its buckets with nothing in them, as zeros."""
        if len(self.query.group_by) != 1 or self.query.group_by[0] not in TIME_GRAINS:
            return rows
        grain = self.query.group_by[0]
        by_bucket = {row[grain]: row for row in rows}
        empty = self._values({})
        return [
            by_bucket.get(value, {grain: value, **empty})
            for value in series(grain, period.start, period.end)
        ]


def _aggregate(part: _Part, condition: ColumnElement[bool] | None) -> ColumnElement[Any]:
    metric = part.metric
    expression = metric.expression
    if part.kind == "count" and expression is None:
        return func.count() if condition is None else func.count(case((condition, 1)))
    if condition is not None:
        expression = case((condition, expression))
    if part.kind == "count":
        return func.count(expression)
    if part.kind == "count_distinct":
        return func.count(distinct(expression))
    return getattr(func, part.kind)(expression)


def _combined(groups: list[Mapping[str, Any]], parts: list[_Part]) -> dict[str, Any]:
    """Totals from the groups' parts: sums and counts add up, minima and maxima compare."""
    totals: dict[str, Any] = {}
    for part in parts:
        values = [g[part.key] for g in groups if g.get(part.key) is not None]
        if part.kind in ("min", "max"):
            totals[part.key] = (min if part.kind == "min" else max)(values, default=None)
        else:
            totals[part.key] = sum(values) if values else None
    return totals


def _divide(unit: str, numerator: Any, denominator: Any) -> Any:
    if not denominator or numerator is None:
        return None
    if unit == "money":
        return to_money(Decimal(str(numerator)) / Decimal(str(denominator)))
    quotient = float(numerator) / float(denominator)
    return round(quotient * 100, 2) if unit == "percent" else round(quotient, 2)


def _attach_comparison(result: MetricResult, previous_rows: list[dict[str, Any]]) -> None:
    """Previous values beside current ones: a time series by position (the first day of this
    week beside the first day of last week), anything else by the group-by values."""
    group_by = result.group_by
    positional = len(group_by) == 1 and group_by[0] in SERIES_GRAINS
    previous_by_key = {tuple(row[g] for g in group_by): row for row in previous_rows}
    for index, row in enumerate(result.rows):
        if positional:
            previous = previous_rows[index] if index < len(previous_rows) else {}
        else:
            previous = previous_by_key.get(tuple(row[g] for g in group_by), {})
        for metric in result.metrics:
            before = previous.get(metric.name)
            row[f"{metric.name}_previous"] = before
            row[f"{metric.name}_change"] = percent_change(row[metric.name], before)


def _ordered(result: MetricResult, query: MetricQuery) -> list[dict[str, Any]]:
    rows = result.rows
    time_series = query.group_by and query.group_by[0] in TIME_GRAINS
    order = query.order or (None if time_series else (f"-{result.metrics[0].name}"))
    if order is not None and query.group_by:
        name = order.lstrip("-")
        present = [r for r in rows if r.get(name) is not None]
        absent = [r for r in rows if r.get(name) is None]
        present.sort(key=lambda r: r[name], reverse=order.startswith("-"))
        rows = present + absent
    return rows[: query.limit] if query.limit else rows
