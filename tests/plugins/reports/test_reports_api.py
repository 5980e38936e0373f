"""Generate, list, get and delete reports (seed 001), their figures from the metrics layer,
and the bad inputs: end before start, unknown type, unknown filter, another project's id."""

from __future__ import annotations

import json

import pytest

from plugins.reports.summary import facts
from tests.plugins.reports.conftest import JANUARY


def figures(report: dict, section: str) -> dict:
    return next(s for s in report["payload"]["sections"] if s["name"] == section)["figures"]


def table(report: dict, name: str) -> dict:
    tables = [t for s in report["payload"]["sections"] for t in s["tables"]]
    return next(t for t in tables if t["name"] == name)


def test_a_sales_report_has_seed_001_shape(reporting, sales):
    assert set(sales) >= {"id", "project_id", "report_type", "summary", "payload", "generated_at"}
    assert sales["project_id"] == reporting.project["id"]
    assert sales["report_type"] == "sales"
    assert sales["generated_at"].endswith("Z")
    assert sales["payload"]["total_orders"] == 4
    assert sales["payload"]["total_revenue"] == 186.65
    assert sales["payload"]["period"] == {
        "start": "2025-01-01",
        "end": "2025-01-31",
        "label": "January 2025",
    }


def test_sales_figures_are_the_metrics_layers_against_the_previous_month(reporting, sales):
    query = {
        "metrics": ["revenue", "orders", "average_order_value"],
        "start": "2025-01-01",
        "end": "2025-01-31",
        "compare": "previous_period",
    }
    response = reporting.client.post(
        f"/api/v1/metrics/{reporting.project['id']}/query", json=query, headers=reporting.owner
    )
    metrics = response.get_json()
    shown = figures(sales, "sales")
    for name in query["metrics"]:
        assert shown[name]["value"] == metrics["totals"][name]
        assert shown[name]["previous"] == metrics["comparison_totals"][name]
        assert shown[name]["change"] == metrics["changes"][name]
    assert shown["revenue"] | {"label": "Revenue"} == {
        "label": "Revenue",
        "unit": "money",
        "value": 186.65,
        "previous": 75.0,
        "change": 148.9,
        "as_of": "period",
    }


def test_sales_tables_rank_products_and_customers_and_list_every_day(sales):
    products = table(sales, "top_products")
    assert [(r["product"], r["product_revenue"], r["items_sold"]) for r in products["rows"]] == [
        ("Grinder", 89.9, 1),
        ("Espresso beans", 75.0, 6),
        ("Milk jug", 21.75, 3),
    ]
    customers = table(sales, "top_customers")["rows"]
    assert [(r["customer"], r["revenue"]) for r in customers][0] == ("Bruno Costa", 89.9)
    by_day = table(sales, "revenue_by_day")
    assert len(by_day["rows"]) == 31
    assert {r["day"]: r["revenue"] for r in by_day["rows"]}["2025-01-03"] == 114.9
    assert by_day["chart"]["mark"]["type"] == "line"
    assert by_day["chart"]["data"]["values"][2] == {"day": "2025-01-03", "revenue": 114.9}


def test_the_summary_names_the_first_named_row_of_a_table_as_its_leader():
    walk_ins = {
        "title": "Top customers",
        "group_by": ["customer"],
        "columns": ["customer", "revenue"],
        "units": {"revenue": "money"},
        "rows": [{"customer": None, "revenue": 900}, {"customer": "Ana", "revenue": 120}],
    }
    payload = {
        "report_type": "sales",
        "period": {"start": "2025-01-01", "end": "2025-01-31", "label": "January 2025"},
        "sections": [{"title": "Sales", "figures": {}, "tables": [walk_ins]}],
    }
    assert "Sales: top customers: Ana first (120.00)." in facts(payload)


def test_the_offline_summary_states_the_payloads_figures(sales):
    summary = sales["summary"]
    for text in ("January 2025", "Revenue: 186.65", "up 148.9% from 75.00", "Orders: 4"):
        assert text in summary
    assert "Average order value: 46.66" in summary
    assert "top products: Grinder first (89.90)" in summary
    numbers = {w.strip("(),.;:%") for w in summary.split() if any(c.isdigit() for c in w)}
    payload_text = json.dumps(sales["payload"])
    for number in numbers - {"2025", "2025-01-01", "2025-01-31"}:
        plain = number.replace(",", "")
        assert plain in payload_text or plain.rstrip("0").rstrip(".") in payload_text, number


def test_a_messages_report_counts_channels_replies_and_response_time(reporting):
    reporting.messages()
    report = reporting.generate(report_type="messages")
    shown = figures(report, "messages")
    assert {name: f["value"] for name, f in shown.items()} == {
        "inbound_messages": 3,
        "outbound_messages": 2,
        "ai_answered_share": 50.0,
        "first_response_time": 1200.0,
        "unread_messages": 1,
        "messages_needing_human": 0,
    }
    assert shown["inbound_messages"]["previous"] == 1
    assert shown["unread_messages"]["as_of"] == "now"
    assert shown["unread_messages"]["previous"] is None
    channels = {r["channel"]: r for r in table(report, "messages_by_channel")["rows"]}
    assert channels["whatsapp"]["inbound_messages"] == 2
    assert channels["telegram"]["outbound_messages"] == 1
    assert "First response time: 20.0 min" in report["summary"]


def test_a_performance_report_gathers_every_plugins_kpis(reporting):
    reporting.orders()
    report = reporting.generate(report_type="performance")
    sections = {s["name"]: s["plugin"] for s in report["payload"]["sections"]}
    assert sections == {
        "customers": "customers",
        "orders": "orders",
        "memberships": "memberships",
        "messages": "messages",
        "visitors": "persons",
    }
    assert figures(report, "orders")["revenue"]["value"] == 186.65
    assert figures(report, "memberships")["non_member_revenue"]["value"] == 186.65


def test_a_filter_narrows_the_queries_that_have_its_dimension(reporting):
    reporting.orders()
    report = reporting.generate(report_type="sales", filters={"customer": "ana lima"})
    assert report["payload"]["total_revenue"] == 75.0
    assert report["payload"]["filters"] == {"customer": ["ana lima"]}
    assert figures(report, "sales")["revenue"]["previous"] == 75.0
    sales = report["payload"]["sections"][0]
    assert sales["filters_applied"] == ["customer"]


def test_the_types_list_sections_and_their_filters(reporting):
    types = {t["report_type"]: t for t in reporting.get("/types").get_json()}
    assert {"sales", "messages", "performance"} <= set(types)
    assert {"customer", "product", "status", "provider"} <= set(types["sales"]["filters"])
    assert types["messages"]["filters"] == ["channel", "sentiment"]


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"report_type": "sales", "start_date": "2025-02-01"}, "end_date", "before"),
        ({"report_type": "weather"}, "report_type", "sales"),
        ({"report_type": "sales", "filters": {"colour": "red"}}, "filters", "customer"),
        ({"report_type": "sales", "filters": {"customer": []}}, "filters", "customer"),
        ({"report_type": "sales", "filters": {"customer": 3}}, "filters", "customer"),
        ({"report_type": "messages", "filters": {"channel": "fax"}}, "filters", "known"),
        ({"report_type": "sales", "end_date": "31/01/2025"}, "end_date", "date"),
        ({"report_type": "sales", "end_date": "9999-01-01"}, "end_date", "date"),
        ({"report_type": "sales", "colour": "red"}, "colour", "Unknown"),
        ({"report_type": ""}, "report_type", ""),
    ],
)
def test_bad_generate_requests_are_422_naming_the_field(reporting, body, field, says):
    response = reporting.client.post(
        f"{reporting.url}/generate", json={**JANUARY, **body}, headers=reporting.owner
    )
    assert response.status_code == 422, response.get_json()
    error = response.get_json()
    assert error["code"] == "VALIDATION_ERROR"
    assert says in json.dumps(error["errors"][field])
    assert reporting.get().get_json() == []


def test_unknown_filter_lists_the_valid_ones(reporting):
    error = reporting.generate(422, report_type="messages", filters={"product": "x"})
    assert error["errors"] == {"filters": ["valid filters: channel, sentiment"]}


def test_list_filters_by_type_and_paginates(reporting, sales):
    other = reporting.generate(report_type="messages")
    listed = reporting.get(report_type="sales")
    assert [r["id"] for r in listed.get_json()] == [sales["id"]]
    assert "payload" not in listed.get_json()[0]
    everything = reporting.get(page_size=1)
    assert [r["id"] for r in everything.get_json()] == [other["id"]]
    assert json.loads(everything.headers["X-Pagination"])["total"] == 2
    reporting.get(status=422, colour="red")


def test_get_and_delete_one_report(reporting, sales):
    assert reporting.get(f"/{sales['id']}").get_json() == sales
    response = reporting.client.delete(f"{reporting.url}/{sales['id']}", headers=reporting.owner)
    assert response.status_code == 204
    reporting.get(f"/{sales['id']}", status=404)
    again = reporting.client.delete(f"{reporting.url}/{sales['id']}", headers=reporting.owner)
    assert again.status_code == 404


def test_another_projects_report_does_not_exist(reporting, sales):
    other = reporting.api.project(reporting.owner, name="Other")
    url = f"/api/v1/reports/{other['id']}/{sales['id']}"
    for suffix in ("", ".html", ".pdf", ".csv"):
        response = reporting.client.get(url + suffix, headers=reporting.owner)
        assert response.status_code == 404, suffix
        assert response.get_json()["code"] == "NOT_FOUND"
    assert reporting.client.delete(url, headers=reporting.owner).status_code == 404
    stranger = reporting.api.user_headers()
    response = reporting.client.get(f"{reporting.url}/{sales['id']}", headers=stranger)
    assert response.status_code == 404


def test_viewers_read_reports_but_only_operators_generate_and_delete(reporting, sales):
    viewer = reporting.headers_of("viewer")
    url = f"{reporting.url}/{sales['id']}"
    assert reporting.client.get(url, headers=viewer).status_code == 200
    assert reporting.client.get(url + ".csv", headers=viewer).status_code == 200
    refused = reporting.client.post(
        f"{reporting.url}/generate", json={**JANUARY, "report_type": "sales"}, headers=viewer
    )
    assert refused.status_code == 403
    assert reporting.client.delete(url, headers=viewer).status_code == 403
    operator = reporting.headers_of("operator")
    reporting.generate(report_type="sales", headers=operator)
    assert reporting.client.get(url).status_code == 401
