"""Benchmarks: each ``bench/bench_*.py`` module has ``run() -> list[Figure]``.

``make bench`` (``python -m bench [names...]``) runs them, prints every figure beside the
baseline measured in the same run and its ratio to it, and exits 1 when any target is missed.

The contract a bench module follows:

- a figure and its baseline are each the median of the same number of runs (``runs``): time
  both with :func:`median_ms` / :func:`median_of` and the same ``RUNS``;
- a target is a :class:`Target`, a bound on the value or (when the machine's speed would
  otherwise decide the outcome) on the ratio value / baseline; ``met`` is computed from the
  numbers, never passed in. A figure shown for information has ``target=None``.
"""

from __future__ import annotations

import operator
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Comparison = Literal["<", "<=", ">", ">=", "=="]
COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Target:
    """``value <op> bound`` (``on="value"``) or ``value / baseline <op> bound`` (``on="ratio"``)."""

    op: Comparison
    bound: float
    on: Literal["value", "ratio"] = "value"

    def __str__(self) -> str:
        return f"{self.op} {self.bound:g}{'x baseline' if self.on == 'ratio' else ''}"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline: float
    baseline_label: str
    runs: int
    target: Target | None = None

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")

    @property
    def met(self) -> bool:
        if self.target is None:
            return True
        measured = self.ratio if self.target.on == "ratio" else self.value
        return COMPARE[self.target.op](measured, self.target.bound)

    def row(self) -> str:
        verdict = "MISSED" if not self.met else "ok" if self.target else "info"
        target = str(self.target) if self.target else "(reported)"
        return (
            f"{self.name:<60} {self.value:>12.2f} {self.unit:<7} target {target:<16} "
            f"[{verdict}]  {self.ratio:>7.2f}x baseline ({self.baseline_label}: "
            f"{self.baseline:.2f} {self.unit}), median of {self.runs}"
        )


def median_of(runs: int, measure: Callable[[], float]) -> float:
    """The median of ``runs`` calls of ``measure`` (each returns one measurement)."""
    return statistics.median(measure() for _ in range(runs))


def median_ms(runs: int, action: Callable[[], object], warm_up: bool = True) -> float:
    """Milliseconds ``action`` takes, median of ``runs`` timed calls after one untimed call."""
    if warm_up:
        action()

    def timed() -> float:
        start = time.perf_counter()
        action()
        return (time.perf_counter() - start) * 1000

    return median_of(runs, timed)


def run_threads(threads: list[threading.Thread]) -> float:
    """Start ``threads`` together, wait for all of them; the wall-clock seconds they took."""
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started
