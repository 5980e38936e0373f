"""The benchmarks' contract: ``met`` comes from the numbers and a miss fails ``make bench``."""

from __future__ import annotations

import pytest

from bench import Figure, Target, median_of
from bench.__main__ import main, verdict


def figure(value: float, baseline: float, target: Target | None) -> Figure:
    return Figure("figure", value, "ms", baseline, "baseline", 3, target)


@pytest.mark.parametrize(
    ("value", "baseline", "target", "met"),
    [
        (40, 10, Target("<", 50), True),
        (50, 10, Target("<", 50), False),
        (30, 20, Target("<=", 1.5, on="ratio"), True),
        (31, 20, Target("<=", 1.5, on="ratio"), False),
        (5, 10, Target(">=", 0.5, on="ratio"), True),
        (4, 10, Target(">=", 0.5, on="ratio"), False),
        (1200, 1200, Target("==", 1200), True),
        (1199, 1200, Target("==", 1200), False),
        (999, 1, None, True),
    ],
)
def test_met_is_computed_from_the_value_the_baseline_and_the_target(value, baseline, target, met):
    assert figure(value, baseline, target).met is met


def test_the_row_shows_the_ratio_the_verdict_and_the_runs():
    row = figure(31, 20, Target("<=", 1.5, on="ratio")).row()
    assert "[MISSED]" in row and "1.55x baseline" in row and "median of 3" in row
    assert "[info]" in figure(1, 2, None).row()


def test_a_missed_target_exits_1_and_names_it(capsys):
    assert verdict([figure(40, 10, Target("<", 50)), figure(60, 10, Target("<", 50))]) == 1
    assert "1 target(s) missed: figure" in capsys.readouterr().out
    assert verdict([figure(40, 10, Target("<", 50)), figure(1, 1, None)]) == 0


def test_an_unknown_benchmark_name_exits_2(capsys):
    assert main(["no_such_bench"]) == 2
    assert "bench_orders" in capsys.readouterr().out


def test_median_of_takes_the_middle_measurement():
    measurements = iter([5.0, 1.0, 3.0])
    assert median_of(3, lambda: next(measurements)) == 3.0
