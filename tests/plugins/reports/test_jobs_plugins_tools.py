"""Long reports as jobs, a third-party plugin's report type and section, the assistant tool,
the summary from a remote provider, and the demo reports."""

from __future__ import annotations

import uuid

import pytest

from assistant.tools import ToolArgumentError, ToolContext
from core.context import Context
from core.errors import Invalid
from core.jobs import wait_for_jobs
from core.metrics import Dimension, Metric
from plugins.orders.metrics import orders
from plugins.reports.demo import load_demo_reports
from plugins.reports.models import Report, ReportSchedule
from tests.core.helpers import make_plugin

LONG = {"start_date": "2024-10-01", "end_date": "2025-01-31"}

BIG_ORDERS = Metric(
    name="big_orders_in_reports",
    label="Orders of 50 or more",
    unit="count",
    measure="count",
    permission="view_order",
    source=orders,
    project_column=orders.c.project_id,
    time_column=orders.c.order_date,
    condition=orders.c.total >= 50,
    dimensions=(Dimension("buyer", "Buyer", orders.c.customer_name),),
)


def third_party_sections(register):
    register(
        "big_spenders",
        "big_orders",
        "Big orders",
        figures=("big_orders_in_reports",),
        tables=(
            {
                "name": "big_orders_by_buyer",
                "title": "Big orders by buyer",
                "metrics": ("big_orders_in_reports",),
                "group_by": ("buyer",),
                "order": "-big_orders_in_reports",
                "chart": "bar",
            },
        ),
    )
    register("sales", "big_orders", "Big orders", figures=("big_orders_in_reports",))
    register("sales", "broken", "Broken", figures=("no_such_metric",))
    register("sales", "sales", "A second sales section", figures=("orders",))


def third_party_plugin():
    """Written for the orders plugin (it requires it), so its sections come after orders'."""
    return make_plugin(
        "bigspenders",
        plugin_info=lambda: {"name": "bigspenders", "version": "1", "requires": ["orders"]},
        register_metrics=lambda register: register(BIG_ORDERS),
        report_sections=third_party_sections,
    )


def test_a_long_period_runs_as_a_job_and_the_report_appears(reporting):
    reporting.orders()
    accepted = reporting.generate(202, report_type="sales", **LONG)
    assert accepted["status"] == "queued"
    wait_for_jobs(reporting.app, timeout=60)
    job = reporting.client.get(f"/api/v1/jobs/{accepted['job_id']}", headers=reporting.owner)
    job = job.get_json()
    assert job["status"] == "finished", job
    assert job["progress"] == 100
    report = reporting.get(f"/{job['result']['report_id']}").get_json()
    assert report["payload"]["period"]["start"] == "2024-10-01"
    assert report["payload"]["total_revenue"] == 261.65  # January and December
    assert report["payload"]["grain"] == "week"
    assert report["payload"]["sections"][0]["tables"][0]["group_by"] == ["week"]


def test_a_job_is_not_queued_for_a_bad_long_request(reporting):
    reporting.orders()
    reporting.generate(422, report_type="sales", filters={"colour": "red"}, **LONG)
    error = reporting.generate(422, report_type="sales", filters={"customer": "Zed"}, **LONG)
    assert "Ana Lima" in error["errors"]["filters"][0]
    reporting.generate(202, report_type="sales", filters={"customer": "ANA LIMA"}, **LONG)
    wait_for_jobs(reporting.app, timeout=60)
    [report] = reporting.get().get_json()
    assert report["filters"] == {"customer": ["ANA LIMA"]}


def test_a_third_party_plugin_adds_a_report_type_and_a_section(reporting, make_app, caplog):
    reporting.orders()
    client = make_app(extra_plugins=[("bigspenders", third_party_plugin())]).test_client()
    types = client.get(f"{reporting.url}/types", headers=reporting.owner).get_json()
    by_type = {t["report_type"]: t for t in types}
    assert by_type["big_spenders"]["filters"] == ["buyer"]
    assert [s["name"] for s in by_type["sales"]["sections"]] == ["sales", "big_orders"]
    assert "no_such_metric" in caplog.text and "already orders's" in caplog.text
    body = {"report_type": "big_spenders", "start_date": "2025-01-01", "end_date": "2025-01-31"}
    response = client.post(f"{reporting.url}/generate", json=body, headers=reporting.owner)
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert report["payload"]["total_big_orders_in_reports"] == 2
    rows = report["payload"]["sections"][0]["tables"][0]["rows"]
    assert {r["buyer"]: r["big_orders_in_reports"] for r in rows} == {
        "Bruno Costa": 1,
        "Ana Lima": 1,
    }
    assert "Big orders: Orders of 50 or more: 2" in report["summary"]
    response = client.post(
        f"{reporting.url}/generate", json={**body, "report_type": "sales"}, headers=reporting.owner
    )
    assert [s["name"] for s in response.get_json()["payload"]["sections"]] == [
        "sales",
        "big_orders",
    ]
    reporting.generate(422, report_type="big_spenders")  # not loaded in the main app


def run_tool(app, project: dict, role: str, **arguments):
    permissions = app.extensions["nebulo"].registry.permissions_for_role(role)
    tool = app.extensions["nebulo"].registry.tools["generate_report"]
    with app.test_request_context(), app.extensions["nebulo"].db.session_scope() as session:
        context = Context(project_id=uuid.UUID(project["id"]), permissions=permissions)
        return tool.run(ToolContext(session, context), arguments)


def test_the_assistant_tool_makes_a_named_periods_report(reporting):
    reporting.orders()
    answer = run_tool(
        reporting.app, reporting.project, "operator", report_type="sales", period="January 2025"
    )
    assert answer["total_revenue"] == 186.65
    assert answer["period"]["label"] == "January 2025"
    assert answer["pdf"] == f"{reporting.url}/{answer['report_id']}.pdf"
    assert reporting.get(f"/{answer['report_id']}").get_json()["summary"] == answer["summary"]


def test_the_assistant_tool_refuses_bad_arguments(reporting):
    with pytest.raises(ToolArgumentError, match="'weather' is not one of messages, performance"):
        run_tool(reporting.app, reporting.project, "operator", report_type="weather")
    with pytest.raises(Invalid, match="Unknown period"):
        run_tool(
            reporting.app,
            reporting.project,
            "operator",
            report_type="sales",
            period="the day after",
        )
    assert reporting.get().get_json() == []


def test_demo_reports_and_a_weekly_schedule(reporting):
    reporting.orders()
    app = reporting.app
    with app.test_request_context(), app.extensions["nebulo"].db.session_scope() as session:
        project = type("Project", (), {"id": uuid.UUID(reporting.project["id"])})
        assert load_demo_reports(session, project) == 3
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        kinds = sorted(r.report_type for r in session.query(Report))
        assert kinds == ["messages", "performance", "sales"]
        assert session.query(ReportSchedule).one().frequency == "weekly"


def test_the_whole_demo_has_reports_of_its_own_history(app):
    from sqlalchemy import select

    from core.demo import load_demo_data
    from core.projects.models import Project

    with app.app_context():
        assert load_demo_data(app, "demo-reports@example.com", "a demo password")
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        project = session.scalar(select(Project).where(Project.name == "Demo Store"))
        reports = {
            r.report_type: r
            for r in session.scalars(select(Report).where(Report.project_id == project.id))
        }
        assert sorted(reports) == ["messages", "performance", "sales"]
        assert reports["sales"].payload["total_orders"] > 0
        assert "Revenue: " in reports["sales"].summary
        assert reports["messages"].payload["total_inbound_messages"] > 0
