"""The metrics layer: plugins register metrics, one engine answers every query over them.

``registry`` (what a metric is), ``periods`` (the period grammar), ``engine`` (the query
engine: ``MetricQuery`` -> ``MetricResult``), ``routes`` (REST). Plugin authors import
``Metric``, ``Dimension`` and ``PROJECT_TODAY`` from here."""

from core.metrics.periods import Period, parse_period, shift_period
from core.metrics.registry import PROJECT_TODAY, Dimension, Metric

__all__ = ["PROJECT_TODAY", "Dimension", "Metric", "Period", "parse_period", "shift_period"]
