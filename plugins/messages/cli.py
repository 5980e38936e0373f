"""``nebulo messages score-sentiment``: score the messages stored before sentiment scoring.

The plugin's modules are imported when a command runs: listing the commands imports none of
them."""

from __future__ import annotations

import uuid

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group()
def messages() -> None:
    """Customers' messages."""


@messages.command("score-sentiment")
@click.option("--project", "project_id", type=click.UUID, help="Only this project's messages.")
@click.option("--queue", "queued", is_flag=True, help="Hand the work to the job workers.")
@with_appcontext
def score_sentiment(project_id: uuid.UUID | None, queued: bool) -> None:
    """Score the sentiment of received messages that have none yet (stored before scoring
    existed); new messages are scored when they arrive. Safe to run again."""
    from core.jobs import enqueue
    from core.projects.models import Project
    from plugins.messages import jobs, sentiment

    with current_app.extensions["nebulo"].db.session_scope() as session:
        if project_id is not None and session.get(Project, project_id) is None:
            raise click.ClickException(f"Project {project_id} not found")
        if queued:
            argument = str(project_id) if project_id else None
            click.echo(f"job {enqueue(jobs.score_sentiment, argument, project_id=project_id)}")
            return
        total = sentiment.count_unscored(session, project_id)
        with click.progressbar(length=total, label="Scoring messages") as bar:

            def batch_done(done: int, _total: int) -> None:
                session.commit()
                bar.update(done - bar.pos)

            scored = sentiment.score_unscored(session, project_id, batch_done)
    click.echo(f"Scored {scored} message(s).")
