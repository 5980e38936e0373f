"""``nebulo chat --project ID``: talk to the assistant from a terminal.

The assistant's modules are imported when the command runs: listing the commands imports none
of them."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

if TYPE_CHECKING:
    from core.context import Context


def _member_context(session, project_id: uuid.UUID, email: str | None) -> Context:
    from sqlalchemy import select

    from core.auth.models import User
    from core.context import Context
    from core.projects.models import ProjectMember

    statement = select(ProjectMember.user_id, ProjectMember.role).where(
        ProjectMember.project_id == project_id
    )
    if email:
        statement = statement.join(User, User.id == ProjectMember.user_id).where(
            User.email == email.lower()
        )
    else:
        statement = statement.where(ProjectMember.role == "owner")
    row = session.execute(statement.limit(1)).first()
    if row is None:
        raise click.ClickException(
            f"No {'member ' + email if email else 'owner'} in project {project_id}; "
            "check --project and --as"
        )
    permissions = current_app.extensions["nebulo"].permissions_for_role(row.role)
    return Context(
        project_id=project_id, permissions=permissions, user_id=row.user_id, role=row.role
    )


@click.command("chat")
@with_appcontext
@click.option("--project", "project_id", required=True, type=click.UUID, help="Project id")
@click.option(
    "--as", "email", default=None, help="Act as this member (default: the project's owner)"
)
def chat(project_id: uuid.UUID, email: str | None) -> None:
    """Ask the assistant questions about a project; an empty line or Ctrl-D ends."""
    from assistant import services

    state = current_app.extensions["nebulo"]
    with state.db.session_scope() as session:
        ctx = _member_context(session, project_id, email)
    click.echo(
        f"Assistant ({services.provider().name}) for project {project_id}. Empty line to quit."
    )
    conversation_id = None
    while True:
        try:
            message = click.prompt("you", default="", show_default=False)
        except (EOFError, click.Abort):
            break
        if not message.strip():
            break
        with state.db.session_scope() as session:
            result = services.ask(
                session,
                ctx,
                message,
                conversation_id=conversation_id,
                on_step=lambda event: (
                    event.type == "tool_call"
                    and click.echo(
                        click.style(
                            f"  → {event.data['name']}({event.data['parameters']})", dim=True
                        )
                    )
                ),
            )
        conversation_id = result["conversation_id"]
        click.echo(f"assistant: {result['reply']}")
