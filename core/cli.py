"""The ``nebulo`` command: database, demo data, server, workers; plugins add their own.

Commands run inside an app context; plugin commands come from the ``register_commands``
hook, which ``create_app`` calls with ``app.cli``.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from core import migrate
from core.app import create_app

DEMO_EMAIL = "admin@demo.nebulo.local"
DEMO_PASSWORD = "nebulo-demo"


@click.group(cls=FlaskGroup, create_app=lambda: create_app(), add_default_commands=False)
def cli() -> None:
    """Nebulo: store operations through plugins and an AI assistant."""


@cli.group()
def db() -> None:
    """Database migrations (Alembic, one version branch per plugin)."""


@db.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Upgrade the database to REVISION (default: every branch's head)."""
    migrate.upgrade(current_app, revision)
    click.echo(f"database upgraded to {revision}")


@db.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Downgrade to REVISION, e.g. ``base``, ``orders@base`` or a revision id."""
    migrate.downgrade(current_app, revision)
    click.echo(f"database downgraded to {revision}")


@db.command("current")
@with_appcontext
def db_current() -> None:
    """Show the current revision of every branch."""
    migrate.current(current_app)


@db.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--head", default="base", help="branch to extend, e.g. orders@head")
@click.option("--version-path", default=None, help="the plugin's migrations directory")
@click.option("--branch", default=None, help="label of a new branch")
@with_appcontext
def db_revision(message: str, head: str, version_path: str | None, branch: str | None) -> None:
    """Autogenerate a migration from the models."""
    migrate.revision(current_app, message, head, version_path, branch)


@cli.command("demo")
@with_appcontext
def demo() -> None:
    """Load the demo project and its admin user (kept as is when it already exists)."""
    from core.demo import load_demo_data

    created = load_demo_data(current_app, DEMO_EMAIL, DEMO_PASSWORD)
    click.echo(("demo data loaded" if created else "demo data already present") + ".")
    click.echo(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")


@cli.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Serve the API (threaded, WebSockets included). Use gunicorn in production."""
    from werkzeug.serving import run_simple

    from core.jobs import serve_jobs

    serve_jobs(current_app._get_current_object())
    click.echo(f"Nebulo on http://{host}:{port} (docs at http://{host}:{port}/docs)")
    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)


@cli.command("worker")
@click.option("--burst", is_flag=True, help="Quit once the queue is empty.")
@click.option("--name", default=None, help="Worker name (default: rq's host.pid name).")
@with_appcontext
def worker(burst: bool, name: str | None) -> None:
    """Run background jobs from Redis (start as many as you like, on any machine)."""
    from core.jobs import RqDispatcher, recover_expired_jobs

    app = current_app._get_current_object()
    dispatcher = app.extensions["nebulo"].jobs
    if not isinstance(dispatcher, RqDispatcher):
        raise click.ClickException(
            "REDIS_URL is not set: without Redis, the web server runs the jobs itself; "
            "set REDIS_URL to run separate workers"
        )
    recovered = recover_expired_jobs(app)
    if recovered:
        click.echo(f"recovered {recovered} job(s) left running by a lost worker")
    log_level = app.extensions["nebulo"].settings.log_level
    dispatcher.worker(name).work(burst=burst, with_scheduler=True, logging_level=log_level)


def main() -> None:
    cli()
