"""``nebulo memberships expire``: the daily expiry, for cron or a systemd timer.

The plugin's modules are imported when a command runs: listing the commands imports none of them."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group()
def memberships() -> None:
    """Customers' memberships."""


@memberships.command("expire")
@click.option("--queue", "queued", is_flag=True, help="Hand the expiry to the job workers.")
@with_appcontext
def expire(queued: bool) -> None:
    """Expire the memberships whose end has passed (run it daily)."""
    from core.jobs import enqueue
    from plugins.memberships import jobs, services

    if queued:
        click.echo(f"job {enqueue(jobs.expire_memberships)}")
        return
    with current_app.extensions["nebulo"].db.session_scope() as session:
        click.echo(f"{services.expire_memberships(session)} membership(s) expired")
