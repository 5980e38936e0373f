"""Charts of a report's tables: Vega-Lite specs in the payload, drawn as SVG offline.

The spec carries its data, so the same spec is drawn interactively by a browser (the web
console) and as SVG by vl-convert for the HTML and PDF renderings, with no network."""

from __future__ import annotations

from typing import Any

CHARTS = ("line", "bar", "arc")
TIME_COLUMNS = ("day", "week", "month")
WIDTH, HEIGHT = 560, 220
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


def chart_spec(kind: str, table: dict[str, Any]) -> dict[str, Any]:
    """A Vega-Lite spec of ``table``'s first group column against its first metric."""
    group = table["group_by"][0]
    metric = table["columns"][len(table["group_by"])]
    labels = table["labels"]
    values = [{group: row[group], metric: row[metric]} for row in table["rows"]]
    measure = {"field": metric, "type": "quantitative", "title": labels[metric]}
    category = {"field": group, "title": labels[group]}
    spec: dict[str, Any] = {
        "$schema": SCHEMA,
        "title": table["title"],
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": values},
    }
    if kind == "line":
        time = group in TIME_COLUMNS
        spec["mark"] = {"type": "line", "point": len(values) <= 31}
        spec["encoding"] = {
            "x": {**category, "type": "temporal" if time else "ordinal"},
            "y": measure,
        }
    elif kind == "bar":
        spec["mark"] = "bar"
        spec["encoding"] = {
            "y": {**category, "type": "nominal", "sort": "-x"},
            "x": measure,
        }
    else:
        spec["mark"] = {"type": "arc", "innerRadius": 50}
        spec["encoding"] = {
            "theta": measure,
            "color": {**category, "type": "nominal"},
        }
    return spec


def chart_svg(spec: dict[str, Any]) -> str:
    """The chart as an SVG document (vl-convert bundles Vega: no network, no browser)."""
    import vl_convert

    return vl_convert.vegalite_to_svg(spec)
