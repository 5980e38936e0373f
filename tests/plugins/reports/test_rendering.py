"""Reports rendered: HTML with SVG charts, a PDF that is looked at (pages drawn to PNG and
read back as text), and CSV with the rows behind every table."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess

import pytest
from PIL import Image, ImageStat


def rendered(reporting, report: dict, extension: str, **params):
    response = reporting.get(f"/{report['id']}.{extension}", **params)
    return response


def test_the_html_page_holds_the_summary_figures_tables_and_charts(reporting, sales):
    response = rendered(reporting, sales, "html")
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Sales report" in page and "January 2025" in page
    assert sales["summary"].replace("'", "&#39;") in page
    assert "186.65" in page and "Grinder" in page and "Espresso beans" in page
    assert page.count("<svg") == 4  # revenue by day, products, customers, statuses
    assert "http://" not in page.replace("http://www.w3.org", "")


def test_the_pdf_pages_have_content_and_the_payloads_figures(reporting, sales, tmp_path):
    if shutil.which("pdftoppm") is None:
        reason = "no pdftoppm (.ci/run installs it: apt-get install poppler-utils)"
        if os.environ.get("NEBULO_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    response = rendered(reporting, sales, "pdf")
    assert response.mimetype == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.get_data())
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2
    for page in pages:
        grey = Image.open(page).convert("L")
        assert ImageStat.Stat(grey).stddev[0] > 5, f"{page.name} is blank"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    for figure in ("186.65", "75.00", "46.66", "89.90", "Grinder", "Bruno Costa", "January 2025"):
        assert figure in text


def test_the_csv_holds_every_tables_rows(reporting, sales):
    response = rendered(reporting, sales, "csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    products = [r for r in rows if r["table"] == "top_products" and r["column"] == "product"]
    assert [r["value"] for r in products] == ["Grinder", "Espresso beans", "Milk jug"]
    days = {r["row"] for r in rows if r["table"] == "revenue_by_day"}
    assert len(days) == 31
    revenue = next(r for r in rows if r["table"] == "figures" and r["column"] == "revenue")
    assert revenue["value"] == "186.65"


def test_one_table_as_csv_has_its_own_columns(reporting, sales):
    text = rendered(reporting, sales, "csv", table="top_customers").get_data(as_text=True)
    assert text.splitlines()[0] == "customer,revenue,paid_orders"
    assert text.splitlines()[1] == "Bruno Costa,89.9,1"


@pytest.mark.parametrize("params", [{"table": "nope"}, {"format": "xlsx"}])
def test_bad_csv_requests_are_422(reporting, sales, params):
    response = reporting.client.get(
        f"{reporting.url}/{sales['id']}.csv", query_string=params, headers=reporting.owner
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "VALIDATION_ERROR"


def test_a_report_without_data_renders_too(reporting):
    empty = reporting.generate(report_type="sales")
    assert "nothing to report" not in empty["summary"]
    assert "Revenue: 0.00" in empty["summary"]
    page = rendered(reporting, empty, "html").get_data(as_text=True)
    assert "No data in this period." in page
    assert rendered(reporting, empty, "pdf").get_data()[:5] == b"%PDF-"


def test_names_from_the_data_are_escaped_in_the_page_and_its_charts(reporting):
    reporting.order("2025-01-05", "<b>Eve</b>", "<script>alert(1)</script>", 1, "3.00")
    report = reporting.generate(report_type="sales")
    page = rendered(reporting, report, "html").get_data(as_text=True)
    assert "<script>" not in page and "<b>Eve</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    text = rendered(reporting, report, "csv", table="top_products").get_data(as_text=True)
    assert "<script>alert(1)</script>,3.0,1" in text
