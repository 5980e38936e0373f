"""/api/v1/jobs: the status of one background job, for whoever may see it."""

from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from core.context import current_principal, project_context
from core.db import get_session
from core.errors import Forbidden, NotFound
from core.jobs import STATUSES, Job

blp = Blueprint("jobs", __name__, url_prefix="/jobs", description="Background jobs")


class JobSchema(Schema):
    id = fields.UUID()
    name = fields.String(metadata={"description": "module:function of the job"})
    status = fields.String(metadata={"enum": list(STATUSES)})
    progress = fields.Integer(metadata={"description": "0 to 100, set by the job"})
    message = fields.String(metadata={"description": "what the job is doing now"})
    result = fields.Raw(allow_none=True, metadata={"description": "return value when finished"})
    error = fields.String(allow_none=True, metadata={"description": "why it failed or is retried"})
    attempts = fields.Integer()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)


def visible_job(session: Session, job_id: UUID) -> Job:
    """The job if the caller may see it: members with ``view_project`` of its project, or, for a
    job without a project, the user who created it. Anyone else gets a 404, as for a missing id."""
    principal = current_principal()
    job = session.get(Job, job_id)
    missing = NotFound(f"Job {job_id} not found")
    if job is None:
        raise missing
    if job.project_id is None:
        if job.created_by is None or principal.user_id != job.created_by:
            raise missing
        return job
    try:
        project_context(job.project_id, "view_project")
    except (NotFound, Forbidden):
        raise missing from None
    return job


@blp.route("/<uuid:job_id>")
class JobItem(MethodView):
    @blp.response(200, JobSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="No such job, or not yours to see")
    def get(self, job_id: UUID):
        """A job's status, progress, message, result or error."""
        return visible_job(get_session(), job_id)
