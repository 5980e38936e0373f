"""Panel validation: what the console refuses before a browser ever tries to draw it, above
all the line over a source with interval bands (a forecast)."""

from __future__ import annotations

import pytest

from plugins.console.panels import BUILT_IN, Panel, _as_panel

SOURCE = "/api/v1/analytics/{project_id}/forecast/days"
QUERY = {"metrics": ["revenue"], "period": "last 30 days", "group_by": ["day"]}


def banded(**fields) -> Panel:
    return Panel(
        **{
            "name": "shop.forecast",
            "title": "Forecast",
            "kind": "line",
            "source": SOURCE,
            "x": "date",
            "y": "revenue",
            "bands": (("low_95", "high_95"), ("low_80", "high_80")),
            **fields,
        }
    )


def test_a_line_over_a_source_with_bands_is_drawable():
    assert banded().problems() == []
    assert banded(bands=()).problems() == []


def test_the_built_in_panels_are_all_drawable():
    assert {panel.name: panel.problems() for panel in BUILT_IN if panel.problems()} == {}


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"x": ""}, "a line chart over a source needs its x and y columns"),
        ({"y": None}, "a line chart over a source needs its x and y columns"),
        ({"bands": (("low_95",),)}, "each band must be a (lower, upper) pair of column names"),
        ({"bands": (("low_95", ""),)}, "each band must be a (lower, upper) pair of column names"),
        ({"bands": ("low_95",)}, "each band must be a (lower, upper) pair of column names"),
        ({"kind": "table"}, "x, y and bands are for a line chart over a source"),
        (
            {"source": None, "query": QUERY},
            "x, y and bands are for a line chart over a source",
        ),
    ],
)
def test_a_bad_banded_line_is_refused_saying_what_is_wrong(fields, problem):
    assert problem in banded(**fields).problems()


def test_a_dict_registration_gets_its_bands_as_pairs():
    panel = _as_panel(
        "shop",
        {
            "name": "shop.forecast",
            "title": "Forecast",
            "kind": "line",
            "source": SOURCE,
            "x": "date",
            "y": "revenue",
            "bands": [["low_80", "high_80"]],
        },
    )
    assert panel.bands == (("low_80", "high_80"),) and panel.plugin == "shop"
    assert panel.problems() == []
    assert panel.as_json()["bands"] == [["low_80", "high_80"]]
