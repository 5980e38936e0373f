"""Benchmarks: each ``bench/bench_*.py`` module has ``run() -> list[Figure]``.

``make bench`` (``python -m bench [names...]``) runs them and prints every figure beside its
target and the baseline measured in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: str
    met: bool
    baseline: float
    baseline_label: str

    def row(self) -> str:
        verdict = "ok" if self.met else "MISSED"
        return (
            f"{self.name:<58} {self.value:>12.2f} {self.unit:<10} target {self.target:<14} "
            f"[{verdict}]  baseline ({self.baseline_label}): {self.baseline:.2f} {self.unit}"
        )
