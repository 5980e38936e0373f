"""Assistant tool: a report for a named period, generated through the services."""

from __future__ import annotations

from typing import Annotated, Any

from assistant.tools import Choices, ToolContext, tool
from core.metrics.engine import project_timezone
from core.metrics.periods import parse_period, today_in
from plugins.reports import services
from plugins.reports.models import Report
from plugins.reports.sections import report_types

ReportType = Annotated[str, Choices(lambda: sorted(report_types()))]


@tool(
    permission="generate_reports",
    examples=(
        "send me last month's sales report",
        "make a messages report for this week",
        "performance report for Q3",
    ),
)
def generate_report(
    ctx: ToolContext, report_type: ReportType, period: str = "last month"
) -> dict[str, Any]:
    """Generate a report (``sales``, ``messages``, ``performance``) for a period in words
    ("last month", "this week", "Q3 2025"); answers its summary, main totals and the links of
    its HTML and PDF. A long period runs as a job: then the job id to follow."""
    session, context = ctx.session, ctx.context
    named = parse_period(
        period.strip().lower(), today_in(project_timezone(session, context.project_id))
    )
    outcome = services.request_report(
        session,
        context,
        {
            "report_type": report_type.strip().lower(),
            "start_date": named.start,
            "end_date": named.end,
        },
    )
    if not isinstance(outcome, Report):
        return {"job_id": str(outcome), "status": "queued", "period": named.as_dict()}
    base = f"/api/v1/reports/{context.project_id}/{outcome.id}"
    totals = {k: v for k, v in outcome.payload.items() if k.startswith("total_")}
    return {
        "report_id": str(outcome.id),
        "report_type": outcome.report_type,
        "period": outcome.payload["period"],
        "summary": outcome.summary,
        **totals,
        "html": f"{base}.html",
        "pdf": f"{base}.pdf",
    }
