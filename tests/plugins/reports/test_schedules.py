"""Report schedules: asked for through the API, claimed by one worker of several when due,
generated over the period just ended, announced as ``report.generated``."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from core.db import utcnow
from core.hookspecs import hookimpl
from core.jobs import wait_for_jobs
from core.jobs.maintenance import maintain_jobs
from core.scheduler import run_periodic_tasks
from plugins.reports.models import Report, ReportSchedule


class ReportProbe:
    def __init__(self):
        self.events = []

    @hookimpl
    def on_event(self, event):
        if event.name.startswith("report."):
            self.events.append(event)


def schedule(reporting, status: int = 201, headers: dict | None = None, **body):
    response = reporting.client.post(
        f"{reporting.url}/schedules",
        json={"report_type": "sales", "frequency": "monthly", **body},
        headers=headers or reporting.owner,
    )
    assert response.status_code == status, response.get_json()
    return response.get_json()


def make_due(app, schedule_id: str, when: datetime) -> None:
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        session.execute(
            update(ReportSchedule)
            .where(ReportSchedule.id == uuid.UUID(schedule_id))
            .values(next_run_at=when)
        )


def reports_of(app) -> list[Report]:
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        rows = session.query(Report).all()
        session.expunge_all()
        return rows


def test_a_schedule_is_due_when_its_period_ends(reporting):
    created = schedule(reporting, frequency="weekly")
    due = datetime.fromisoformat(created["next_run_at"].replace("Z", "+00:00"))
    assert due.weekday() == 0 and due.time().hour == 0
    assert timedelta(0) < due - utcnow() <= timedelta(days=7)
    listed = reporting.get("/schedules").get_json()
    assert [s["id"] for s in listed] == [created["id"]]
    assert listed[0]["last_run_at"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"frequency": "hourly"}, "frequency"),
        ({"report_type": "weather"}, "report_type"),
        ({"filters": {"colour": "red"}}, "filters"),
        ({"filters": {"customer": "Nobody"}}, "filters"),
        ({"start_date": "2025-01-01"}, "start_date"),
    ],
)
def test_bad_schedules_are_422(reporting, body, field):
    error = schedule(reporting, 422, **body)
    assert field in error["errors"]
    assert reporting.get("/schedules").get_json() == []


def test_schedules_belong_to_their_project_and_need_generate_reports(reporting):
    created = schedule(reporting)
    other = reporting.api.project(reporting.owner, name="Other")
    response = reporting.client.delete(
        f"/api/v1/reports/{other['id']}/schedules/{created['id']}", headers=reporting.owner
    )
    assert response.status_code == 404
    schedule(reporting, 403, headers=reporting.headers_of("viewer"))
    url = f"{reporting.url}/schedules/{created['id']}"
    assert reporting.client.delete(url, headers=reporting.owner).status_code == 204
    assert reporting.client.delete(url, headers=reporting.owner).status_code == 404


def test_a_due_schedule_runs_once_with_several_workers(reporting, make_app):
    reporting.orders()
    probe = ReportProbe()
    workers = [make_app(extra_plugins=[("report_probe", probe)]) for _ in range(3)]
    created = schedule(reporting)
    make_due(reporting.app, created["id"], datetime(2025, 2, 1, tzinfo=UTC))
    ticks = [threading.Thread(target=run_periodic_tasks, args=(w,)) for w in workers]
    for tick in ticks:
        tick.start()
    for tick in ticks:
        tick.join()
    for worker in workers:
        run_periodic_tasks(worker)
        wait_for_jobs(worker, timeout=60)
    [report] = reports_of(reporting.app)
    assert str(report.schedule_id) == created["id"]
    assert (report.period_start.isoformat(), report.period_end.isoformat()) == (
        "2025-01-01",
        "2025-01-31",
    )
    assert report.payload["period"]["label"] == "January 2025"
    assert report.payload["total_revenue"] == 186.65
    assert [(e.name, e.payload["report_id"]) for e in probe.events] == [
        ("report.generated", str(report.id))
    ]
    [after] = reporting.get("/schedules").get_json()
    assert after["last_run_at"] is not None
    assert after["next_run_at"] > utcnow().isoformat()[:19]


def test_the_workers_maintenance_tick_starts_due_schedules(reporting):
    reporting.orders()
    created = schedule(reporting, frequency="daily")
    make_due(reporting.app, created["id"], datetime(2025, 1, 4, tzinfo=UTC))
    maintain_jobs(reporting.app)
    wait_for_jobs(reporting.app, timeout=60)
    [report] = reports_of(reporting.app)
    assert report.period_start.isoformat() == report.period_end.isoformat() == "2025-01-03"
    assert report.payload["total_revenue"] == 114.9


def test_a_scheduled_report_shows_only_what_its_creator_could_see(reporting):
    reporting.orders()
    created = schedule(
        reporting, report_type="performance", headers=reporting.headers_of("operator")
    )
    make_due(reporting.app, created["id"], datetime(2025, 2, 1, tzinfo=UTC))
    run_periodic_tasks(reporting.app)
    wait_for_jobs(reporting.app, timeout=60)
    [report] = reports_of(reporting.app)
    operator = reporting.app.extensions["nebulo"].registry.permissions_for_role("operator")
    shown = {s["name"] for s in report.payload["sections"]}
    assert "orders" in shown
    assert ("visitors" in shown) == ("view_persons" in operator)
