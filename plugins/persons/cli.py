"""``nebulo persons ...``: commands calling the plugin's services.

The plugin's modules are imported when a command runs: listing the commands imports none of them."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group()
def persons() -> None:
    """Visitors seen by cameras."""


@persons.command("purge-biometrics")
@with_appcontext
def purge_biometrics() -> None:
    """Queue the retention job that erases expired face vectors and images (run daily)."""
    from core.jobs import enqueue
    from plugins.persons import jobs

    job_id = enqueue(jobs.purge_expired_biometrics)
    click.echo(f"Queued job {job_id}")
