"""/api/v1/reports/<project_id>: generate, list, get, delete (seed 001), rendered, scheduled."""

from __future__ import annotations

from uuid import UUID

from flask import Response, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from core.context import project_context
from core.db import get_session
from core.pagination import paginate
from plugins.reports import render, schedules, services
from plugins.reports.models import Report
from plugins.reports.schemas import (
    CsvArgs,
    GenerateReportSchema,
    ReportJobSchema,
    ReportListArgs,
    ReportListItemSchema,
    ReportSchema,
    ReportTypeSchema,
    ScheduleCreateSchema,
    ScheduleSchema,
)

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/reports",
    description="Sales, messages and performance reports (seed 001), rendered with charts",
)


@blp.route("/<uuid:project_id>/generate")
class GenerateReport(MethodView):
    @blp.arguments(GenerateReportSchema)
    @blp.response(201, ReportSchema)
    @blp.alt_response(202, schema=ReportJobSchema, description="A long period: a job")
    def post(self, data, project_id: UUID):
        """Generate a report; a period longer than NEBULO_REPORT_JOB_DAYS runs as a job (202,
        GET /api/v1/jobs/{job_id}; its result names the report)."""
        session = get_session()
        ctx = project_context(project_id, "generate_reports")
        outcome = services.request_report(session, ctx, data)
        session.commit()
        if isinstance(outcome, Report):
            return outcome
        accepted = {"job_id": outcome, "status": "queued", "message": "Generating the report"}
        response = jsonify(ReportJobSchema().dump(accepted))
        response.status_code = 202
        return response


@blp.route("/<uuid:project_id>")
class Reports(MethodView):
    @blp.arguments(ReportListArgs, location="query")
    @blp.response(200, ReportListItemSchema(many=True))
    def get(self, args, project_id: UUID):
        """Reports, newest first, of one type with ``report_type`` (X-Pagination)."""
        session = get_session()
        ctx = project_context(project_id, "view_reports")
        return paginate(session, services.list_reports(ctx, args), args)


@blp.route("/<uuid:project_id>/types")
class ReportTypes(MethodView):
    @blp.response(200, ReportTypeSchema(many=True))
    def get(self, project_id: UUID):
        """The report types, the plugins' sections in each and the filters each accepts."""
        project_context(project_id, "view_reports")
        return services.types_overview()


@blp.route("/<uuid:project_id>/schedules")
class Schedules(MethodView):
    @blp.response(200, ScheduleSchema(many=True))
    def get(self, project_id: UUID):
        """The project's report schedules."""
        ctx = project_context(project_id, "view_reports")
        return get_session().scalars(schedules.list_schedules(ctx)).all()

    @blp.arguments(ScheduleCreateSchema)
    @blp.response(201, ScheduleSchema)
    def post(self, data, project_id: UUID):
        """Generate a report type daily, weekly or monthly over the period just ended."""
        session = get_session()
        ctx = project_context(project_id, "generate_reports")
        schedule = schedules.create_schedule(session, ctx, data)
        session.commit()
        return schedule


@blp.route("/<uuid:project_id>/schedules/<uuid:schedule_id>")
class ScheduleItem(MethodView):
    @blp.response(204)
    def delete(self, project_id: UUID, schedule_id: UUID):
        """Stop a schedule (its reports stay)."""
        session = get_session()
        ctx = project_context(project_id, "generate_reports")
        schedules.delete_schedule(session, ctx, schedule_id)
        session.commit()


@blp.route("/<uuid:project_id>/<uuid:report_id>")
class ReportItem(MethodView):
    @blp.response(200, ReportSchema)
    def get(self, project_id: UUID, report_id: UUID):
        """One report with its payload."""
        ctx = project_context(project_id, "view_reports")
        return services.get_report(get_session(), ctx, report_id)

    @blp.response(204)
    def delete(self, project_id: UUID, report_id: UUID):
        """Delete a report."""
        session = get_session()
        ctx = project_context(project_id, "generate_reports")
        services.delete_report(session, ctx, report_id)
        session.commit()


def _rendered(project_id: UUID, report_id: UUID) -> Report:
    ctx = project_context(project_id, "view_reports")
    return services.get_report(get_session(), ctx, report_id)


def _download(body: str | bytes, mimetype: str, name: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@blp.route("/<uuid:project_id>/<uuid:report_id>.html")
class ReportHtml(MethodView):
    @blp.response(200, {"type": "string"}, content_type="text/html")
    def get(self, project_id: UUID, report_id: UUID):
        """The report as a page: summary, figures, tables and charts (SVG, drawn offline)."""
        report = _rendered(project_id, report_id)
        return _download(render.report_html(report), "text/html", render.file_name(report, "html"))


@blp.route("/<uuid:project_id>/<uuid:report_id>.pdf")
class ReportPdf(MethodView):
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf")
    def get(self, project_id: UUID, report_id: UUID):
        """The report as a PDF (the HTML page printed by WeasyPrint)."""
        report = _rendered(project_id, report_id)
        return _download(
            render.report_pdf(report), "application/pdf", render.file_name(report, "pdf")
        )


@blp.route("/<uuid:project_id>/<uuid:report_id>.csv")
class ReportCsv(MethodView):
    @blp.arguments(CsvArgs, location="query")
    @blp.response(200, {"type": "string"}, content_type="text/csv")
    def get(self, args, project_id: UUID, report_id: UUID):
        """The rows behind every table (``?table=`` for one table with its own columns)."""
        report = _rendered(project_id, report_id)
        return _download(
            render.report_csv(report, args.get("table")),
            "text/csv",
            render.file_name(report, "csv"),
        )
