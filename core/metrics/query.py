"""A metrics query and its answer: the Python API of the metrics layer.

The REST routes, the assistant's tools, reports and jobs build a :class:`MetricQuery` and get
a :class:`MetricResult` from :func:`core.metrics.engine.run_query`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from core.errors import Invalid
from core.metrics.periods import Period
from core.metrics.registry import Metric


@dataclass(frozen=True)
class MetricQuery:
    """What to compute. ``filters`` maps a dimension to the values kept (any case);
    ``order`` is a metric or dimension name, ``-name`` for descending; ``compare`` is
    ``previous_period`` or ``previous_year``."""

    metrics: tuple[str, ...]
    period: Period
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    group_by: tuple[str, ...] = ()
    order: str | None = None
    limit: int | None = None
    compare: str | None = None


@dataclass
class MetricResult:
    """A query's answer. Each row holds the group-by values and one value per metric; with a
    comparison also ``<metric>_previous`` and ``<metric>_change`` (percent, ``None`` when the
    previous value is zero). ``totals`` are over the whole period, not only the rows shown."""

    metrics: list[Metric]
    period: Period
    timezone: str
    group_by: tuple[str, ...]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    comparison_period: Period | None = None
    comparison_totals: dict[str, Any] | None = None
    changes: dict[str, float | None] | None = None

    @property
    def units(self) -> dict[str, str]:
        return {metric.name: metric.unit for metric in self.metrics}

    @property
    def columns(self) -> list[str]:
        names = list(self.group_by)
        for metric in self.metrics:
            names.append(metric.name)
            if self.comparison_period is not None:
                names += [f"{metric.name}_previous", f"{metric.name}_change"]
        return names

    def as_json(self) -> dict[str, Any]:
        """The result as JSON values: dates as ISO days, money as numbers with cents."""
        comparison = self.comparison_period
        return {
            "metrics": [{"name": m.name, "label": m.label, "unit": m.unit} for m in self.metrics],
            "period": self.period.as_dict(),
            "comparison_period": comparison.as_dict() if comparison else None,
            "timezone": self.timezone,
            "group_by": list(self.group_by),
            "columns": self.columns,
            "rows": [{k: _json_value(v) for k, v in row.items()} for row in self.rows],
            "totals": {k: _json_value(v) for k, v in self.totals.items()},
            "comparison_totals": (
                {k: _json_value(v) for k, v in self.comparison_totals.items()}
                if self.comparison_totals is not None
                else None
            ),
            "changes": self.changes,
            "units": self.units,
        }

    def as_csv(self) -> str:
        """The rows as CSV (money exact, days as ISO dates)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows or [self.totals]:
            writer.writerow([csv_value(row.get(c)) for c in self.columns])
        return buffer.getvalue()


def parse_filters(items: list[str]) -> dict[str, tuple[str, ...]]:
    """``["status:paid,fulfilled", "channel:whatsapp"]`` -> ``{dimension: values}``: filters
    written as text (the query string, the assistant's metrics tool)."""
    filters: dict[str, tuple[str, ...]] = {}
    for item in items:
        name, _, values = item.partition(":")
        name = name.strip()
        kept = tuple(v.strip() for v in values.split(",") if v.strip())
        if not name or not kept:
            raise Invalid(
                "A filter is dimension:value[,value...]", errors={"filter": [f"{item!r}"]}
            )
        filters[name] = filters.get(name, ()) + kept
    return filters


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_value(value: Any) -> str:
    """A CSV cell: empty for None, dates in ISO form, and text that a spreadsheet would run
    as a formula quoted."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, date) else str(value)
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True
