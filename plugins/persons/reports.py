"""The persons plugin's part of the performance report: visitors seen by the cameras."""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def report_sections(register):
    register(
        "performance",
        "visitors",
        "Visitors",
        figures=("visits", "unique_visitors", "returning_visitor_rate"),
        tables=(
            {
                "name": "visits_by_day",
                "title": "Visits by day",
                "metrics": ("visits", "unique_visitors"),
                "group_by": ("day",),
                "chart": "line",
            },
        ),
    )
