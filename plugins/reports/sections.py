"""What reports are made of: the sections plugins contribute through ``report_sections``.

A section is data (a title, figures and tables, each a metrics query); this module collects
the contributions once per app, checks them, and answers them with the metrics engine
(:func:`core.metrics.engine.run_queries`: every section's queries as one batch) for a report's
period and filters. No figure is computed here: a report shows what the metrics layer says,
compared with the previous period.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from core.context import Context
from core.errors import Invalid
from core.metrics import Metric, Period
from core.metrics.engine import run_queries, run_query
from core.metrics.query import MetricQuery, MetricResult
from core.metrics.registry import NAME_PATTERN
from plugins.reports.charts import CHARTS, chart_spec

log = logging.getLogger(__name__)

TABLE_KEYS = {"name", "title", "metrics", "group_by", "order", "limit", "chart"}
TIME_GRAINS = ("day", "week", "month")
DAILY_UP_TO_DAYS = 92
WEEKLY_UP_TO_DAYS = 731


@dataclass(frozen=True)
class TableSpec:
    """A metrics query shown as a table (and a chart): its rows are the report's CSV rows."""

    name: str
    title: str
    metrics: tuple[str, ...]
    group_by: tuple[str, ...]
    order: str | None = None
    limit: int | None = None
    chart: str | None = None


@dataclass(frozen=True)
class SectionSpec:
    """One plugin's part of a report type."""

    report_type: str
    name: str
    title: str
    figures: tuple[str, ...]
    tables: tuple[TableSpec, ...]
    plugin: str


def _table(value: Mapping[str, Any]) -> TableSpec:
    unknown = set(value) - TABLE_KEYS
    if unknown:
        raise ValueError(f"table keys {sorted(unknown)} are not among {sorted(TABLE_KEYS)}")
    chart = value.get("chart")
    if chart is not None and chart not in CHARTS:
        raise ValueError(f"chart {chart!r} is not one of {', '.join(CHARTS)}")
    return TableSpec(
        name=value["name"],
        title=value["title"],
        metrics=tuple(value["metrics"]),
        group_by=tuple(value.get("group_by", ())),
        order=value.get("order"),
        limit=value.get("limit"),
        chart=chart,
    )


def _problems(section: SectionSpec, metrics: Mapping[str, Metric]) -> list[str]:
    problems = []
    for name in (section.report_type, section.name, *(t.name for t in section.tables)):
        if not re.match(NAME_PATTERN, name):
            problems.append(f"name {name!r} is not lower_snake_case")
    named = [*section.figures, *(m for t in section.tables for m in t.metrics)]
    problems += [f"metric {m!r} is not registered" for m in named if m not in metrics]
    if not section.figures and not section.tables:
        problems.append("it has neither figures nor tables")
    if any(not t.metrics for t in section.tables):
        problems.append("a table names no metric")
    return problems


def collect_sections(app: Any) -> dict[str, list[SectionSpec]]:
    """Every loaded plugin's sections by report type, requirements first. A contribution that
    is invalid or duplicates another is logged with its plugin and left out."""
    state = app.extensions["nebulo"]
    by_type: dict[str, list[SectionSpec]] = {}
    owners: dict[tuple[str, str], str] = {}
    for impl in state.plugins.in_order("report_sections"):
        register = _register_for(impl.plugin_name, state.registry.metrics, by_type, owners)
        try:
            state.plugins.call("report_sections", impl, register=register)
        except Exception:  # noqa: BLE001 - one plugin's failure leaves the others' sections
            log.exception("plugin %s failed in report_sections", impl.plugin_name)
    return by_type


def _register_for(
    plugin: str,
    metrics: Mapping[str, Metric],
    by_type: dict[str, list[SectionSpec]],
    owners: dict[tuple[str, str], str],
) -> Any:
    """The ``register`` callback one plugin's ``report_sections`` gets."""

    def register(
        report_type: str,
        name: str,
        title: str,
        figures: tuple[str, ...] = (),
        tables: tuple[Mapping[str, Any], ...] = (),
    ) -> None:
        section = None
        try:
            section = SectionSpec(
                report_type, name, title, tuple(figures), tuple(map(_table, tables)), plugin
            )
            problems = _problems(section, metrics)
        except (KeyError, TypeError, ValueError) as error:
            problems = [f"it is malformed: {error!r}"]
        key = (report_type, name)
        if key in owners:
            problems.append(f"section {name!r} of {report_type!r} is already {owners[key]}'s")
        if problems or section is None:
            log.error("plugin %s: report section %r left out: %s", plugin, name, problems)
            return
        owners[key] = plugin
        by_type.setdefault(report_type, []).append(section)

    return register


def report_types() -> dict[str, list[SectionSpec]]:
    """The collected sections of the current app, by report type (collected once)."""
    cache = current_app.extensions.setdefault("reports", {})
    if "sections" not in cache:
        cache["sections"] = collect_sections(current_app)
    return cache["sections"]


def sections_of(report_type: str) -> list[SectionSpec]:
    """The sections of ``report_type``, or ``Invalid`` listing the types that exist."""
    types = report_types()
    if report_type not in types:
        raise Invalid(
            f"Unknown report type {report_type!r}",
            errors={"report_type": ["one of: " + ", ".join(sorted(types))]},
        )
    return types[report_type]


def _dimensions(metrics: Mapping[str, Metric], names: tuple[str, ...]) -> set[str]:
    """The declared dimensions every metric in ``names`` (and a ratio's parts) can be filtered
    by; time grains are not filters."""
    bases = []
    for name in names:
        metric = metrics[name]
        bases.append(metric)
        bases += [metrics[p] for p in (metric.numerator, metric.denominator) if p in metrics]
    return set.intersection(*({d.name for d in m.dimensions} for m in bases))


def valid_filters(report_type: str) -> list[str]:
    """The filters a report type accepts: any dimension one of its queries can be filtered by."""
    metrics = current_app.extensions["nebulo"].registry.metrics
    names: set[str] = set()
    for section in sections_of(report_type):
        for query in _queries(section):
            names |= _dimensions(metrics, query)
    return sorted(names)


def _queries(section: SectionSpec) -> list[tuple[str, ...]]:
    return [q for q in (section.figures, *(t.metrics for t in section.tables)) if q]


def check_filters(report_type: str, filters: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """``{dimension: value or [values]}`` as the engine takes them; an unknown filter or an
    empty one is ``Invalid`` naming the valid filters."""
    valid = valid_filters(report_type)
    listed = "valid filters: " + (", ".join(valid) or "none")
    checked: dict[str, tuple[str, ...]] = {}
    for name, given in filters.items():
        if name not in valid:
            raise Invalid(
                f"Unknown filter {name!r} for a {report_type} report", errors={"filters": [listed]}
            )
        values = [given] if isinstance(given, str) else given
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) and v.strip() for v in values)
        ):
            raise Invalid(
                f"Filter {name!r} needs a value or a list of values",
                errors={"filters": [f"{name}: a non-empty string or list of strings"]},
            )
        checked[name] = tuple(v.strip() for v in values)
    return checked


def check_filter_values(
    session: Session, ctx: Context, report_type: str, filters: Mapping[str, tuple[str, ...]]
) -> None:
    """Refuse (``Invalid``, as the engine words it) a filter value the project's data does not
    hold, before a job is queued for it: one query over a single day per filter."""
    metrics = current_app.extensions["nebulo"].registry.metrics
    queries = [q for s in sections_of(report_type) for q in _queries(s)]
    for name, values in filters.items():
        usable = [
            q
            for q in queries
            if name in _dimensions(metrics, q) and all(ctx.can(metrics[m].permission) for m in q)
        ]
        if usable:
            day = Period(date.today(), date.today(), "today")
            probe = MetricQuery(metrics=usable[0][:1], period=day, filters={name: values})
            run_query(session, ctx, probe)


def time_grain(period: Period) -> str:
    """Days for up to a quarter, weeks up to two years, months beyond: a readable series."""
    if period.days <= DAILY_UP_TO_DAYS:
        return "day"
    return "week" if period.days <= WEEKLY_UP_TO_DAYS else "month"


@dataclass(frozen=True)
class _Asked:
    """A query a section needs, the filters applied to it, and what it answers."""

    query: MetricQuery
    applied: tuple[str, ...]
    table: TableSpec | None = None


class SectionBuilder:
    """Answers sections for one report: the caller's metrics, period and filters. Every
    section's queries go to the metrics engine as one batch, so the sections that read the
    same table share its scans."""

    def __init__(
        self, session: Session, ctx: Context, period: Period, filters: Mapping[str, tuple[str, ...]]
    ):
        self.session, self.ctx, self.period, self.filters = session, ctx, period, filters
        self.metrics = current_app.extensions["nebulo"].registry.metrics
        self.grain = time_grain(period)

    def _ask(
        self, names: tuple[str, ...], table: TableSpec | None = None, **options: Any
    ) -> _Asked:
        usable = _dimensions(self.metrics, names)
        applied = {k: v for k, v in self.filters.items() if k in usable}
        query = MetricQuery(metrics=names, period=self.period, filters=applied, **options)
        return _Asked(query, tuple(sorted(applied)), table)

    def visible(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(n for n in names if self.ctx.can(self.metrics[n].permission))

    def _questions(self, spec: SectionSpec) -> list[_Asked]:
        """The section's queries the caller may see: its figures over the period (compared
        with the previous one) and about now, then its tables."""
        asked = []
        figures = self.visible(spec.figures)
        dated = tuple(n for n in figures if self.metrics[n].time_column is not None)
        now = tuple(n for n in figures if self.metrics[n].time_column is None)
        if dated:
            asked.append(self._ask(dated, compare="previous_period"))
        if now:
            asked.append(self._ask(now))
        for table in spec.tables:
            if self.visible(table.metrics) != table.metrics:
                continue
            group_by = tuple(self.grain if g in TIME_GRAINS else g for g in table.group_by)
            order = table.order
            if order is None and group_by and group_by[0] in TIME_GRAINS:
                order = group_by[0]
            asked.append(
                self._ask(table.metrics, table, group_by=group_by, order=order, limit=table.limit)
            )
        return asked

    def sections(
        self, specs: list[SectionSpec], progress: Callable[[int, str], None] | None = None
    ) -> list[dict[str, Any]]:
        """The sections as the payload holds them, leaving out those the caller may see none
        of; ``progress(percent, message)`` as each is assembled."""
        asked = [self._questions(spec) for spec in specs]
        queries = [a.query for each in asked for a in each]
        results = iter(run_queries(self.session, self.ctx, queries) if queries else ())
        built = []
        for done, (spec, questions) in enumerate(zip(specs, asked, strict=True), start=1):
            if questions:
                built.append(self._section(spec, [(a, next(results)) for a in questions]))
            if progress is not None:
                progress(round(90 * done / len(specs)), f"Section {spec.title} ready")
        return built

    def _section(
        self, spec: SectionSpec, answers: list[tuple[_Asked, MetricResult]]
    ) -> dict[str, Any]:
        figures: dict[str, dict[str, Any]] = {}
        tables = []
        applied: set[str] = set()
        for asked, result in answers:
            applied |= set(asked.applied)
            if asked.table is None:
                figures |= _figures(result)
            else:
                tables.append(self._table(asked.table, result))
        return {
            "name": spec.name,
            "title": spec.title,
            "plugin": spec.plugin,
            "figures": figures,
            "tables": tables,
            "filters_applied": sorted(applied),
        }

    @staticmethod
    def _table(spec: TableSpec, result: MetricResult) -> dict[str, Any]:
        answer = result.as_json()
        group_by = result.group_by
        labels = {g: g.replace("_", " ").capitalize() for g in group_by}
        labels |= {m.name: m.label for m in result.metrics}
        table = {
            "name": spec.name,
            "title": spec.title,
            "group_by": list(group_by),
            "columns": [*group_by, *(m.name for m in result.metrics)],
            "labels": labels,
            "units": answer["units"],
            "rows": answer["rows"],
            "totals": answer["totals"],
        }
        table["chart"] = chart_spec(spec.chart, table) if spec.chart and table["rows"] else None
        return table


def _figures(result: MetricResult) -> dict[str, dict[str, Any]]:
    """Each figure with the previous period's value and the change (figures about now,
    like unread messages, have no previous value)."""
    answer = result.as_json()
    previous = answer["comparison_totals"]
    return {
        metric.name: {
            "label": metric.label,
            "unit": metric.unit,
            "value": answer["totals"][metric.name],
            "previous": previous[metric.name] if previous else None,
            "change": result.changes[metric.name] if result.changes else None,
            "as_of": "period" if result.comparison_period else "now",
        }
        for metric in result.metrics
    }
