"""How the engine reads the database: the aggregates a batch of queries needs, planned into as
few SELECTs as their shapes allow.

Each query asks, per source and period, for some aggregates (:class:`Part`) grouped by some
dimensions (a :class:`Request`). Requests over the same source, time column and filters share
one SELECT (:class:`_Statement`) when their groups can be rolled up from its groups: totals
from any grouping, ``week`` and ``status`` from ``(week, status)`` as long as the combined
grouping stays small (time buckets and dimensions with a fixed list of values), and, on
PostgreSQL, a time series with its previous period from one scan over both ranges (one index
range when they touch), told apart by a period key.
(Periods share a SELECT only where it groups by time already: PostgreSQL cannot estimate the
groups of an expression over the time column, and then aggregates in one process instead of
in parallel. On SQLite they never do: there the period key, a CASE per row, costs more than
a second search of the index.)
Sums and counts add up and minima and maxima compare, so a rolled-up figure is the figure
its own SELECT would give; a distinct count does not roll up and is only shared by requests
grouped the same way. A sales report's figures, weekly series and statuses are then one scan
of the orders instead of three, and its items sold and top products one join instead of two.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, Select, and_, case, distinct, func, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, operators
from sqlalchemy.sql.elements import BooleanClauseList

from core.metrics.buckets import bucket, bucket_value, offset_segments, series
from core.metrics.periods import Period, today_in
from core.metrics.registry import PROJECT_TODAY, TIME_GRAINS, Dimension, Metric

MAX_SHARED_GROUPS = 5000
"""Groups a shared SELECT may return when it groups by more than any of its requests."""
FIXED_GRAIN_SIZES = {"hour": 24, "weekday": 7}
MAX_CONCURRENT_SELECTS = 4
"""Connections a batch reads on at once (PostgreSQL), besides the caller's."""
TIME_SLICES = 2
"""Parts a SELECT grouped by time is read in when a batch reads side by side."""


@dataclass(frozen=True)
class Part:
    """One SQL aggregate a metric needs: ``kind`` is sum, count, min, max or count_distinct."""

    key: str
    kind: str
    metric: Metric


@dataclass(eq=False)
class Request:
    """Aggregates of one source for one period, grouped by ``group_by``; ``rows`` holds the
    answer, ``(group-by values, {part key: value})``, once the plan has run."""

    parts: tuple[Part, ...]
    group_by: tuple[str, ...]
    period: Period
    filters: Mapping[str, tuple[Any, ...]]
    rows: list[tuple[tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)

    @property
    def metric(self) -> Metric:
        return self.parts[0].metric

    @property
    def distinct(self) -> bool:
        return any(p.kind == "count_distinct" for p in self.parts)


class ScanPlan:
    """Requests collected from a batch of queries, then answered by the fewest SELECTs."""

    def __init__(self, session: Session, project_id: Any, timezone: str):
        self.session, self.project_id, self.timezone = session, project_id, timezone
        self.dialect = session.get_bind().dialect.name
        self.statements: list[_Statement] = []

    def add(self, request: Request) -> Request:
        """Plan ``request`` into a SELECT that can answer it; its rows are filled by :meth:`run`."""
        for statement in self.statements:
            if statement.accepts(request):
                statement.add(request)
                return request
        self.statements.append(_Statement(self, request))
        return request

    def run(self) -> None:
        """Answer every request: the SELECTs one after the other in the caller's session, or
        side by side (:func:`_side_by_side`) when the database can read them concurrently."""
        snapshot = self._snapshot() if len(self.statements) > 1 else None
        jobs = [
            (statement, within)
            for statement in self.statements
            for within in statement.slices(side_by_side=snapshot is not None)
        ]
        selects = [statement.select(within) for statement, within in jobs]
        parameters = {PROJECT_TODAY.key: today_in(self.timezone)}
        if snapshot is None:
            answers = [self.session.execute(select, parameters).all() for select in selects]
        else:
            answers = _side_by_side(*snapshot, selects, parameters)
        results: dict[_Statement, list[Sequence[Row[Any]]]] = {}
        for (statement, _), rows in zip(jobs, answers, strict=True):
            results.setdefault(statement, []).append(rows)
        for statement, parts in results.items():
            statement.answer(parts)

    def _snapshot(self) -> tuple[Engine, str] | None:
        """The caller's snapshot, exported so that other connections read exactly what its
        transaction reads. ``None`` (read in the caller's session) on SQLite, for a session
        bound to a connection or inside a savepoint (no snapshot is exported from there), and
        after the transaction wrote: others cannot see its writes."""
        bind = self.session.get_bind()
        if (
            self.dialect != "postgresql"
            or not isinstance(bind, Engine)
            or self.session.in_nested_transaction()
        ):
            return None
        connection = self.session.connection()
        if connection.scalar(text("SELECT txid_current_if_assigned()")) is not None:
            return None
        return bind, connection.scalar(text("SELECT pg_export_snapshot()"))


def combined(groups: Iterable[Mapping[str, Any]], parts: Iterable[Part]) -> dict[str, Any]:
    """Totals from the groups' parts: sums and counts add up, minima and maxima compare."""
    groups = list(groups)
    totals: dict[str, Any] = {}
    for part in parts:
        values = [g[part.key] for g in groups if g.get(part.key) is not None]
        if part.kind in ("min", "max"):
            totals[part.key] = (min if part.kind == "min" else max)(values, default=None)
        else:
            totals[part.key] = sum(values) if values else None
    return totals


class _Statement:
    """One SELECT: the union of its requests' aggregates, grouped by the union of their
    dimensions and by period when it reads more than one."""

    def __init__(self, plan: ScanPlan, request: Request):
        self.plan = plan
        self.metric = request.metric
        self.filters = request.filters
        self.dims: tuple[str, ...] = ()
        self.periods: list[Period] = []
        self.parts: dict[str, Part] = {}
        self.requests: list[Request] = []
        self.add(request)

    def _same_source(self, request: Request) -> bool:
        metric = request.metric
        return (
            metric.source is self.metric.source
            and metric.time_column is self.metric.time_column
            and dict(request.filters) == dict(self.filters)
        )

    def accepts(self, request: Request) -> bool:
        if not self._same_source(request):
            return False
        mine, theirs = set(self.dims), set(request.group_by)
        another_period = bool(self.periods) and self._index(request.period) is None
        if another_period and (
            self.plan.dialect != "postgresql"
            or not (mine | theirs) & set(TIME_GRAINS)
            or any(_overlap(request.period, p) for p in self.periods)
        ):
            return False
        if request.distinct or any(p.kind == "count_distinct" for p in self.parts.values()):
            return mine == theirs
        if mine <= theirs or theirs <= mine:
            return True
        periods = {*self.periods, request.period}
        return self._groups(mine | theirs, periods, request) <= MAX_SHARED_GROUPS

    def _groups(self, dims: set[str], periods: set[Period], request: Request) -> float:
        """At most how many groups grouping by ``dims`` gives (infinite for open values)."""
        sizes = []
        for name in dims:
            if name in FIXED_GRAIN_SIZES:
                sizes.append(FIXED_GRAIN_SIZES[name])
            elif name in TIME_GRAINS:
                sizes.append(max(len(series(name, p.start, p.end)) for p in periods))
            else:
                values = self._dimension(name, request).values
                sizes.append(math.inf if values is None else len(values) + 1)
        return math.prod(sizes) * len(periods)

    def add(self, request: Request) -> None:
        self.dims += tuple(d for d in request.group_by if d not in self.dims)
        if self.metric.time_column is not None and self._index(request.period) is None:
            self.periods.append(request.period)
        for part in request.parts:
            self.parts.setdefault(part.key, part)
        self.requests.append(request)

    def _dimension(self, name: str, request: Request | None = None) -> Dimension:
        """The dimension as one of the statement's (or ``request``'s) metrics declares it:
        all of them read the same source, and the one grouped by it has it."""
        parts = [*self.parts.values(), *(request.parts if request else ())]
        return next(d for p in parts if (d := p.metric.dimension(name)) is not None)

    def _index(self, period: Period) -> int | None:
        """Where the statement reads ``period``'s days (periods alike but named apart share)."""
        spans = [(p.start, p.end) for p in self.periods]
        span = (period.start, period.end)
        return spans.index(span) if span in spans else None

    def slices(self, side_by_side: bool) -> list[tuple[datetime, datetime] | None]:
        """The time ranges to read, in SELECTs whose groups add up: for one period grouped by
        time, on SQLite one per stretch of constant UTC offset (each shifts its rows by one
        fixed offset, not by a CASE per row), and on PostgreSQL, reading side by side,
        ``TIME_SLICES`` consecutive parts (it aggregates such a SELECT in a single process).
        Otherwise the whole statement."""
        if (
            len(self.periods) != 1
            or not set(self.dims) & set(TIME_GRAINS)
            or any(p.kind == "count_distinct" for p in self.parts.values())
        ):
            return [None]
        start, end = self.periods[0].bounds(self.plan.timezone)
        if self.plan.dialect == "sqlite":
            cuts = [start] + [until for until, _ in offset_segments(self.plan.timezone, start, end)]
        elif side_by_side:
            step = (end - start) / TIME_SLICES
            cuts = [start + step * i for i in range(TIME_SLICES)] + [end]
        else:
            return [None]
        return list(zip(cuts, cuts[1:], strict=False))

    def select(self, within: tuple[datetime, datetime] | None = None) -> Select[Any]:
        """The SELECT over the statement's periods, or only over ``within`` (a slice)."""
        parts = list(self.parts.values())
        ranges = [p.bounds(self.plan.timezone) for p in self.periods]
        read = [within] if within else _merged(ranges)
        keys = self._keys(ranges, read)
        common, rest = _factored([p.metric.condition for p in parts])
        aggregates = [
            _aggregate(p, condition).label(f"a{i}")
            for i, (p, condition) in enumerate(zip(parts, rest, strict=True))
        ]
        statement = (
            select(*(k.label(f"g{i}") for i, k in enumerate(keys)), *aggregates)
            .select_from(self.metric.source)
            .where(self.metric.project_column == self.plan.project_id)
        )
        if ranges:
            column = self.metric.time_column
            statement = statement.where(or_(*(_within(column, *r) for r in read)))
        if common:
            statement = statement.where(*common)
        for name, values in self.filters.items():
            statement = statement.where(self.metric.dimension(name).expression.in_(values))
        if keys:
            statement = statement.group_by(*(f"g{i}" for i in range(len(keys))))
        return statement

    def answer(self, results: list[Sequence[Row[Any]]]) -> None:
        """Each request's rows from the statement's result (its slices' added up)."""
        parts = list(self.parts.values())
        width = len(self.dims) + (len(self.periods) > 1)
        rows: dict[tuple[Any, ...], dict[str, Any]] = {}
        for result in results:
            for row in result:
                key = self._key(row[:width], len(self.periods))
                values = {p.key: row[width + i] for i, p in enumerate(parts)}
                rows[key] = combined([rows[key], values], parts) if key in rows else values
        for request in self.requests:
            request.rows = self._rolled_up(request, rows)

    def _keys(
        self, ranges: list[tuple[datetime, datetime]], read: list[tuple[datetime, datetime]]
    ) -> list[ColumnElement[Any]]:
        """The GROUP BY expressions: the period (when several of ``ranges``) and the
        dimensions, time buckets for the rows ``read``."""
        column = self.metric.time_column
        keys: list[ColumnElement[Any]] = []
        if len(ranges) > 1:
            keys.append(case(*((_within(column, *r), i) for i, r in enumerate(ranges))))
        for name in self.dims:
            if name in TIME_GRAINS:
                start, end = min(r[0] for r in read), max(r[1] for r in read)
                keys.append(bucket(self.plan.dialect, name, column, self.plan.timezone, start, end))
            else:
                keys.append(self._dimension(name).expression)
        return keys

    def _key(self, values: tuple[Any, ...], periods: int) -> tuple[Any, ...]:
        """``(period index, *dimension values)`` of a result row, buckets as Python values."""
        period, values = (values[0], values[1:]) if periods > 1 else (0, values)
        dims = (
            bucket_value(name, v) if name in TIME_GRAINS else v
            for name, v in zip(self.dims, values, strict=True)
        )
        return (period, *dims)

    def _rolled_up(
        self, request: Request, rows: Mapping[tuple[Any, ...], dict[str, Any]]
    ) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        """The request's groups from the statement's: its period, its dimensions, its parts."""
        period = self._index(request.period) or 0
        positions = [1 + self.dims.index(d) for d in request.group_by]
        mine = [(key, values) for key, values in rows.items() if key[0] == period]
        if len(positions) == len(self.dims) and mine:  # the same groups: nothing to add up
            return [
                (tuple(key[i] for i in positions), {p.key: values[p.key] for p in request.parts})
                for key, values in mine
            ]
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for key, values in mine:
            groups.setdefault(tuple(key[i] for i in positions), []).append(values)
        if not request.group_by:
            groups.setdefault((), [])
        return [(key, combined(values, request.parts)) for key, values in groups.items()]


def _side_by_side(
    engine: Engine, snapshot: str, selects: list[Select[Any]], parameters: dict[str, Any]
) -> list[list[Any]]:
    """The SELECTs on connections of their own, at once, all in the caller's snapshot: a
    report's scans use the database's cores even where one SELECT would run on one (a
    GROUP BY over a time bucket is not planned in parallel by PostgreSQL)."""
    if not re.fullmatch(r"[0-9A-F-]+", snapshot):
        raise ValueError(f"unexpected snapshot id {snapshot!r}")

    def read(select: Select[Any]) -> list[Any]:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            rows = connection.execute(select, parameters).all()
            connection.rollback()
        return rows

    with ThreadPoolExecutor(min(len(selects), MAX_CONCURRENT_SELECTS)) as pool:
        return list(pool.map(read, selects))


def _factored(
    conditions: list[ColumnElement[bool] | None],
) -> tuple[list[ColumnElement[bool]], list[ColumnElement[bool] | None]]:
    """The terms every condition shares (for the WHERE clause, checked once per row and
    usable by an index) and what remains of each (for its aggregate's CASE)."""
    terms = [_conjuncts(c) if c is not None else [] for c in conditions]
    common = [t for t in terms[0] if all(any(t.compare(u) for u in other) for other in terms[1:])]
    rest = [[t for t in each if not any(t.compare(c) for c in common)] for each in terms]
    return common, [and_(*each) if each else None for each in rest]


def _conjuncts(condition: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    """The terms of a condition's AND, nested ANDs flattened."""
    if isinstance(condition, BooleanClauseList) and condition.operator is operators.and_:
        return [t for c in condition.clauses for t in _conjuncts(c)]
    return [condition]


def _overlap(one: Period, other: Period) -> bool:
    """Whether two periods share a day (a row then belongs to both: they cannot share a scan
    told apart by a period key)."""
    return one.start <= other.end and other.start <= one.end


def _merged(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The ranges with those that touch or overlap joined: a series and its previous period
    are then one range of the time index, which PostgreSQL reads index-only, where two
    ranges ORed make it combine bitmaps and visit the table."""
    joined: list[tuple[datetime, datetime]] = []
    for start, end in sorted(ranges):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return joined


def _within(column: ColumnElement[Any], start: datetime, end: datetime) -> ColumnElement[bool]:
    return (column >= start) & (column < end)


def _aggregate(part: Part, condition: ColumnElement[bool] | None) -> ColumnElement[Any]:
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
