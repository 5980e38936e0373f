"""The one query engine: metrics + period + filters + group by + order + limit + compare.

Every figure the API, the assistant, the reports and the dashboards show comes from
:func:`run_query`. It checks the query against the registered metrics (an unknown metric,
dimension or filter value is an ``Invalid`` error listing what exists), compiles it to
SQLAlchemy Core, always scoped to the caller's project, with time buckets in the project's
time zone, and returns a :class:`MetricResult`: rows, totals, the period as dates, the
comparison and the units. Money stays ``Decimal`` from the database to the result.
:func:`run_queries` answers a batch (a report's sections) the same way from fewer SELECTs,
planned by :mod:`core.metrics.scans`.

Usage::

    query = MetricQuery(  # core.metrics.query
        metrics=("revenue", "orders"), period=parse_period("last month", today),
        group_by=("day",), compare="previous_period",
    )
    result = run_query(session, ctx, query)
    result.totals["revenue"], result.rows[0]["day"], result.comparison_period.start
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from core.context import Context, project_row
from core.db import to_money
from core.errors import Invalid
from core.metrics.buckets import SERIES_GRAINS, WEEKDAY_NAMES, series
from core.metrics.periods import COMPARISONS, Period, shift_period
from core.metrics.query import MetricQuery, MetricResult
from core.metrics.registry import TIME_GRAINS, Dimension, Metric
from core.metrics.scans import Part, Request, ScanPlan, combined
from core.projects.models import Project

MAX_LIMIT = 1000
MAX_GROUP_BY = 2
KNOWN_VALUES_SHOWN = 25
MAX_BUCKETS = 5000
"""Rows a time series may have: ten years by day; longer spans are grouped by week or month."""
BUCKET_DAYS = {"day": 1, "week": 7, "month": 28}


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
    return run_queries(session, ctx, [query], metrics, timezone)[0]


def run_queries(
    session: Session,
    ctx: Context,
    queries: Sequence[MetricQuery],
    metrics: Mapping[str, Metric] | None = None,
    timezone: str | None = None,
) -> list[MetricResult]:
    """Answer several queries at once, each as :func:`run_query` would: all are checked
    first, then their aggregates share SELECTs where they can (:mod:`core.metrics.scans`),
    so a report or a dashboard reads each table once rather than once per figure."""
    registry = metric_registry() if metrics is None else metrics
    timezone = timezone or project_timezone(session, ctx.project_id)
    compiled = []
    for query in queries:
        chosen = _resolve_metrics(ctx, registry, query.metrics)
        _check_shape(chosen, query)
        filters = _resolve_filters(session, ctx, registry, chosen, query.filters)
        compiled.append(_Compiled(registry, chosen, query, filters))
    plan = ScanPlan(session, ctx.project_id, timezone)
    for each in compiled:
        each.plan(plan)
    plan.run()
    return [each.result(timezone) for each in compiled]


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
    """A checked query: the requests it adds to a scan plan, then its result from their rows."""

    def __init__(
        self,
        registry: Mapping[str, Metric],
        chosen: list[Metric],
        query: MetricQuery,
        filters: dict[str, tuple[str, ...]],
    ):
        self.registry, self.chosen, self.query, self.filters = registry, chosen, query, filters
        parts: dict[str, Part] = {}
        for metric in chosen:
            for base in _base_metrics(registry, metric):
                if base.measure == "avg":
                    parts[f"{base.name}__sum"] = Part(f"{base.name}__sum", "sum", base)
                    parts[f"{base.name}__count"] = Part(f"{base.name}__count", "count", base)
                else:
                    parts[base.name] = Part(base.name, base.measure, base)
        self.parts = list(parts.values())
        self.periods = [query.period]
        if query.compare:
            self.periods.append(shift_period(query.period, query.compare))
        self.requests: dict[Period, list[tuple[Request, Request | None]]] = {}

    def plan(self, plan: ScanPlan) -> None:
        """One request per source and period, and one for the totals when a distinct count
        cannot be added up from the groups."""
        by_source: dict[tuple[int, int], list[Part]] = {}
        for part in self.parts:
            key = (id(part.metric.source), id(part.metric.time_column))
            by_source.setdefault(key, []).append(part)
        needs_totals = bool(self.query.group_by) and any(
            p.kind == "count_distinct" for p in self.parts
        )
        for period in self.periods:
            self.requests[period] = [
                (
                    plan.add(Request(tuple(parts), self.query.group_by, period, self.filters)),
                    plan.add(Request(tuple(parts), (), period, self.filters))
                    if needs_totals
                    else None,
                )
                for parts in by_source.values()
            ]

    def result(self, timezone: str) -> MetricResult:
        current_rows, totals = self.evaluate(self.periods[0])
        result = MetricResult(
            metrics=self.chosen,
            period=self.query.period,
            timezone=timezone,
            group_by=self.query.group_by,
            rows=current_rows,
            totals=totals,
        )
        if self.query.compare:
            result.comparison_period = self.periods[1]
            previous_rows, result.comparison_totals = self.evaluate(self.periods[1])
            result.changes = {
                m.name: percent_change(totals[m.name], result.comparison_totals[m.name])
                for m in self.chosen
            }
            _attach_comparison(result, previous_rows)
        result.rows = _ordered(result, self.query)
        return result

    def evaluate(self, period: Period) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """(rows keyed by the group-by values, totals) for ``period``."""
        grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
        totals: dict[str, Any] = {}
        for request, totals_request in self.requests[period]:
            for key, values in request.rows:
                grouped.setdefault(key, {}).update(values)
            if totals_request is not None:
                for _, values in totals_request.rows:
                    totals.update(values)
        if not self.query.group_by:
            totals = grouped.get((), {})
        elif not any(t is not None for _, t in self.requests[period]):
            totals = combined(grouped.values(), self.parts)
        rows = [
            {**dict(zip(self.query.group_by, key, strict=True)), **self._values(values)}
            for key, values in grouped.items()
        ]
        rows = self._with_empty_buckets(rows, period)
        return rows, self._values(totals)

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
    if query.group_by and not (time_series and len(query.group_by) == 1):
        rows = sorted(rows, key=lambda row: _group_order(row, query.group_by))
    order = query.order or (None if time_series else (f"-{result.metrics[0].name}"))
    if order is not None and query.group_by:
        name = order.lstrip("-")
        # A group with no value (orders of no customer) ranks after the named ones: a top 5
        # of customers is of customers. Then the groups without the figure.
        named, unnamed, absent = [], [], []
        for row in rows:
            if row.get(name) is None:
                absent.append(row)
            elif any(row[g] is None for g in query.group_by):
                unnamed.append(row)
            else:
                named.append(row)
        for ranked in (named, unnamed):
            ranked.sort(key=lambda r: r[name], reverse=order.startswith("-"))
        rows = named + unnamed + absent
    return rows[: query.limit] if query.limit else rows


def _group_order(row: Mapping[str, Any], group_by: tuple[str, ...]) -> tuple[Any, ...]:
    """Rows by their group-by values (weekdays from Monday, empty values last): the order of
    ties and of rows no order was asked for, whichever way the database grouped them."""
    return tuple(
        (row[g] is None, WEEKDAY_NAMES.index(row[g]) if g == "weekday" else row[g])
        for g in group_by
    )
