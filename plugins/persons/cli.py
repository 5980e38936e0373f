"""``nebulo persons ...``: commands calling the plugin's services."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from core.jobs import enqueue
from plugins.persons import jobs


@click.group()
def persons() -> None:
    """Visitors seen by cameras."""


@persons.command("purge-biometrics")
@with_appcontext
def purge_biometrics() -> None:
    """Queue the retention job that erases expired face vectors and images (run daily)."""
    job_id = enqueue(jobs.purge_expired_biometrics)
    click.echo(f"Queued job {job_id}")
