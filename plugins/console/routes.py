"""/api/v1/console/<project_id>: what the console shows one operator in one project."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from core.context import project_context
from core.db import get_session
from core.projects.models import Project
from core.schemas import StrictSchema
from plugins.console.pages import pages
from plugins.console.panels import panels_for

blp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    description="The operators' web console (served at /): its pages and panels",
)


class PanelSchema(StrictSchema):
    name = fields.String()
    title = fields.String()
    kind = fields.String(metadata={"description": "line, bar, table or figures"})
    query = fields.Dict(
        allow_none=True,
        metadata={"description": "A body of POST /api/v1/metrics/{project_id}/query"},
    )
    source = fields.String(
        allow_none=True, metadata={"description": "Or a GET path answering a list of rows"}
    )
    page = fields.String()
    order = fields.Integer()
    permission = fields.String(allow_none=True)
    columns = fields.List(fields.String())
    x = fields.String(metadata={"description": "A line over a source: the rows' x column"})
    y = fields.String(metadata={"description": "A line over a source: the rows' y column"})
    bands = fields.List(
        fields.List(fields.String()),
        metadata={"description": "Shaded (lower, upper) column pairs around y, widest first"},
    )
    description = fields.String()
    plugin = fields.String(metadata={"description": "The plugin that registered it"})


class ConsoleSchema(StrictSchema):
    project_id = fields.UUID()
    project_name = fields.String()
    role = fields.String(allow_none=True)
    permissions = fields.List(fields.String(), metadata={"description": "Yours, sorted"})
    plugins = fields.List(fields.String(), metadata={"description": "Loaded plugins"})
    pages = fields.List(
        fields.String(), metadata={"description": "Panel pages, the dashboard first"}
    )
    panels = fields.List(fields.Nested(PanelSchema))


def console_view(project_id: UUID) -> dict[str, Any]:
    """The caller's role, permissions and panels: the console hides what they may not do
    (the API refuses it anyway)."""
    ctx = project_context(project_id, "view_project")
    session = get_session()
    project = session.get(Project, project_id)
    panels = panels_for(current_app, ctx)
    pages = sorted({panel.page for panel in panels}, key=lambda page: (page != "dashboard", page))
    loaded = current_app.extensions["nebulo"].plugins.records
    return {
        "project_id": project_id,
        "project_name": project.name,
        "role": ctx.role,
        "permissions": sorted(ctx.permissions),
        "plugins": sorted(name for name, record in loaded.items() if record.status == "loaded"),
        "pages": pages,
        "panels": [panel.as_json() for panel in panels],
    }


@blp.route("/<uuid:project_id>")
class ConsoleView(MethodView):
    @blp.response(200, ConsoleSchema)
    def get(self, project_id: UUID):
        """Your role, permissions, the loaded plugins and the panels you may see here."""
        return console_view(project_id)


@blp.record_once
def _mount_pages(state) -> None:
    """The page and its files live outside ``/api/v1``, mounted with this blueprint."""
    state.app.register_blueprint(pages)
