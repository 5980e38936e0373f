"""A stored report rendered: an HTML page with SVG charts, the same page as PDF, and CSV.

Rendering reads only the stored payload (never the database again), so a report reads the
same every time it is opened. Charts are the payload's Vega-Lite specs drawn by vl-convert;
the PDF is the HTML printed by WeasyPrint. Both work offline.
"""

from __future__ import annotations

import base64
import csv
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from core.errors import Invalid
from core.metrics.query import csv_value
from plugins.reports.charts import chart_svg
from plugins.reports.models import Report
from plugins.reports.summary import format_change, format_value

CHART_THREADS = 4
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(("html",)),
)
TEMPLATES.filters["figure"] = format_value
TEMPLATES.filters["change"] = format_change


def file_name(report: Report, extension: str) -> str:
    return f"{report.report_type}-report_{report.period_start}_{report.period_end}.{extension}"


def report_html(report: Report, printed: bool = False) -> str:
    """The page: title, summary, each section's figures, then its tables with their charts.
    ``printed`` links the charts as SVG images, which WeasyPrint lays out faster than inline
    SVG; a browser gets them inline. vl-convert draws the charts side by side (threads)."""
    drawn = [
        ((section["name"], table["name"]), table["chart"])
        for section in report.payload["sections"]
        for table in section["tables"]
        if table.get("chart")
    ]
    with ThreadPoolExecutor(max_workers=CHART_THREADS) as pool:
        svgs = list(pool.map(chart_svg, [spec for _, spec in drawn]))
    charts = {}
    for (key, _), svg in zip(drawn, svgs, strict=True):
        if printed:
            encoded = base64.b64encode(svg.encode()).decode()
            svg = f'<img alt="" src="data:image/svg+xml;base64,{encoded}">'
        charts[key] = Markup(svg)  # noqa: S704 - vl-convert's SVG, its text escaped
    return TEMPLATES.get_template("report.html").render(
        report=report, payload=report.payload, charts=charts
    )


def report_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    return HTML(string=report_html(report, printed=True)).write_pdf()


def report_csv(report: Report, table_name: str | None = None) -> str:
    """Every table's rows (and the figures) as ``section,table,row,column,value``; with
    ``table_name`` that table alone, one row per row with its own columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    tables = {t["name"]: (s["name"], t) for s in report.payload["sections"] for t in s["tables"]}
    if table_name is not None:
        if table_name not in tables:
            raise Invalid(
                f"This report has no table {table_name!r}",
                errors={"table": ["one of: " + (", ".join(sorted(tables)) or "none")]},
            )
        table = tables[table_name][1]
        writer.writerow(table["columns"])
        for row in table["rows"]:
            writer.writerow([csv_value(row.get(c)) for c in table["columns"]])
        return buffer.getvalue()
    writer.writerow(["section", "table", "row", "column", "value"])
    for section in report.payload["sections"]:
        for number, (name, figure) in enumerate(section["figures"].items(), start=1):
            for key in ("value", "previous", "change"):
                writer.writerow(
                    [
                        section["name"],
                        "figures",
                        number,
                        f"{name}_{key}" if key != "value" else name,
                        csv_value(figure[key]),
                    ]
                )
        for table in section["tables"]:
            for number, row in enumerate(table["rows"], start=1):
                for column in table["columns"]:
                    writer.writerow(
                        [section["name"], table["name"], number, column, csv_value(row.get(column))]
                    )
    return buffer.getvalue()
