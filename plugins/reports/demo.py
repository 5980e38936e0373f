"""The reports plugin's share of the demo: a few reports over the demo's history and a weekly
schedule. Plugins load their demo requirements first and then by name, so the orders,
messages and customers of the demo are there when these reports are generated."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from core.context import Context
from core.metrics.engine import project_timezone
from core.metrics.periods import parse_period, today_in
from plugins.reports import schedules, services

DEMO_REPORTS = (
    ("sales", "last month"),
    ("messages", "past 14 days"),
    ("performance", "past 30 days"),
)


def load_demo_reports(session: Session, project: Any) -> int:
    """Generate the demo reports as the project's owner would see them; the count."""
    permissions = current_app.extensions["nebulo"].registry.permissions_for_role("owner")
    ctx = Context(project_id=project.id, permissions=permissions)
    today = today_in(project_timezone(session, project.id))
    for report_type, words in DEMO_REPORTS:
        period = parse_period(words, today)
        services.create_report(session, ctx, report_type, period, {})
    schedules.create_schedule(session, ctx, {"report_type": "sales", "frequency": "weekly"})
    return len(DEMO_REPORTS)
