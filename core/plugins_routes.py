"""/api/v1/plugins: what is loaded, what failed and why, and what each plugin adds."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core.context import current_principal

blp = Blueprint("plugins", __name__, url_prefix="/plugins", description="Loaded plugins")


class PluginSchema(Schema):
    name = fields.String()
    status = fields.String(metadata={"description": "loaded, failed or disabled"})
    version = fields.String()
    description = fields.String()
    requires = fields.List(fields.String())
    nebulo = fields.String(
        metadata={"description": "plugin contract versions it supports, e.g. >=1.0,<2"}
    )
    error = fields.String(allow_none=True)
    permissions = fields.List(fields.String())
    tools = fields.List(fields.String())
    connectors = fields.List(fields.String())


@blp.route("")
class Plugins(MethodView):
    @blp.response(200, PluginSchema(many=True))
    def get(self):
        """Every plugin found, loaded or not, with what it contributes."""
        current_principal()
        records = current_app.extensions["nebulo"].plugins.records.values()
        return [
            {
                "name": r.name,
                "status": r.status,
                "version": r.version,
                "description": r.description,
                "requires": list(r.requires),
                "nebulo": r.contract,
                "error": r.error,
                "permissions": r.contributions.get("permissions", []),
                "tools": r.contributions.get("tools", []),
                "connectors": r.contributions.get("connectors", []),
            }
            for r in sorted(records, key=lambda r: r.name)
        ]
