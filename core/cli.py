"""The ``nebulo`` command: database, demo data, server, workers; plugins add their own.

Commands run inside an app context; plugin commands come from the ``register_commands``
hook, which ``create_app`` calls with ``app.cli``.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from core.app import create_app
from core.config import ConfigError, sqlite_path

DEMO_EMAIL = "admin@demo.nebulo.local"
DEMO_PASSWORD = "nebulo-demo"


# Commands that run without an existing database: they create it, read only the code, or check.
# Alembic (``core.migrate``) is imported by the commands that use it: it slows every start-up.
WITHOUT_DATABASE = {
    ("doctor",),
    ("plugin",),
    ("db", "upgrade"),
    ("db", "heads"),
    ("db", "history"),
    ("db", "revision"),
}


class NebuloGroup(FlaskGroup):
    """Refuses a command that needs the database when its SQLite file is missing, instead of
    letting SQLite create an empty one (a typo in a path must not make a new database)."""

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, command, rest = super().resolve_command(ctx, args)
        asks_for_help = any(arg in ctx.help_option_names for arg in rest)
        path = (name, *rest[:1])
        exempt = any(path[: len(allowed)] == allowed for allowed in WITHOUT_DATABASE)
        if command is not None and not ctx.resilient_parsing and not asks_for_help and not exempt:
            _refuse_missing_database(ctx)
        return name, command, rest


def _refuse_missing_database(ctx: click.Context) -> None:
    settings = ctx.ensure_object(ScriptInfo).load_app().extensions["nebulo"].settings
    missing = sqlite_path(settings.database_url)
    if missing is not None and not missing.exists():
        raise click.ClickException(
            f"the database {missing} does not exist. Create it with `nebulo db upgrade`, or "
            "point DATABASE_URL (or NEBULO_INSTANCE_PATH) at the existing one."
        )


@click.group(cls=NebuloGroup, create_app=lambda: create_app(), add_default_commands=False)
def cli() -> None:
    """Nebulo: store operations through plugins and an AI assistant."""


@cli.group()
def db() -> None:
    """Database migrations (Alembic, one version branch per plugin)."""


@db.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Upgrade the database to REVISION (default: every branch's head); creates a missing
    SQLite file."""
    from core import migrate

    migrate.upgrade(current_app, revision)
    click.echo(f"database upgraded to {revision}")


@db.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Downgrade to REVISION, e.g. ``base``, ``orders@base`` or a revision id."""
    from core import migrate

    migrate.downgrade(current_app, revision)
    click.echo(f"database downgraded to {revision}")


@db.command("current")
@with_appcontext
def db_current() -> None:
    """Show the database's revision on every branch and whether it is at head."""
    from core import migrate

    state = migrate.migration_state(current_app)
    if not state.current:
        click.echo("no revision applied (empty database): run `nebulo db upgrade`")
    for revision in state.current:
        click.echo(migrate.describe(current_app, revision))
    if state.pending:
        click.echo(f"not at head: {', '.join(state.pending)} pending; run `nebulo db upgrade`")
    else:
        click.echo("at head")


@db.command("heads")
@with_appcontext
def db_heads() -> None:
    """Show the head revision of the core's and every loaded plugin's branch."""
    from core import migrate

    for line in migrate.head_lines(current_app):
        click.echo(line)


@db.command("history")
@with_appcontext
def db_history() -> None:
    """List every revision of every branch, newest first."""
    from core import migrate

    for line in migrate.history(current_app):
        click.echo(line)


@db.command("revision")
@click.option("-m", "--message", required=True, help="what changed, e.g. 'add points'")
@click.option("--plugin", default="core", show_default=True, help="whose branch to extend")
def db_revision(message: str, plugin: str) -> None:
    """Autogenerate the next migration of a plugin's branch into its own version directory.

    Works from any directory: the models are compared with the migrations on a scratch
    database, never with (or in) a real one."""
    from core import migrate

    try:
        path = migrate.write_revision(message, plugin)
    except migrate.RevisionError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {path}")


@cli.group()
def plugin() -> None:
    """Write plugins: scaffold a new one."""


@plugin.command("new")
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="where to create nebulo-NAME/ (default: here)",
)
def plugin_new(name: str, directory: Path) -> None:
    """Create the package of plugin NAME: model, migration, route, permission, tool, tests."""
    from core.scaffold import ScaffoldError, create_plugin

    try:
        target = create_plugin(name, directory)
    except ScaffoldError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {target}")
    click.echo(f"next: cd {target} && pip install -e . && nebulo db upgrade && pytest")


@cli.command("doctor")
@with_appcontext
def doctor() -> None:
    """Check this deployment (database, migrations, Redis, workers, secrets, plugins) and say
    what to fix; exits with 1 when something is wrong."""
    from core.health import deployment_findings

    findings = deployment_findings(current_app._get_current_object())
    for finding in findings:
        click.echo(f"{finding.level.upper():<8}{finding.check}: {finding.message}")
    errors = sum(finding.level == "error" for finding in findings)
    if errors:
        raise click.ClickException(f"{errors} problem(s) to fix")
    click.echo("all checks passed")


@cli.command("demo")
@click.option("--force", is_flag=True, help="Load it even with NEBULO_ENV=production.")
@with_appcontext
def demo(force: bool) -> None:
    """Load the demo project and its admin user (kept as is when it already exists)."""
    from core.demo import DemoRefusedInProduction, load_demo_data

    try:
        created = load_demo_data(current_app, DEMO_EMAIL, DEMO_PASSWORD, force=force)
    except DemoRefusedInProduction as refusal:
        raise click.ClickException(str(refusal)) from None
    click.echo(("demo data loaded" if created else "demo data already present") + ".")
    click.echo(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")


@cli.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=None, type=int, help="default: PORT, else 8000")
@with_appcontext
def serve(host: str, port: int | None) -> None:
    """Serve the API (threaded, WebSockets included). Use gunicorn in production."""
    port = port or current_app.extensions["nebulo"].settings.port
    from werkzeug.serving import run_simple

    from core.jobs import serve_jobs

    serve_jobs(current_app._get_current_object())
    click.echo(f"Nebulo on http://{host}:{port}/ (API docs at http://{host}:{port}/docs)")
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
    """The ``nebulo`` console script: a configuration error is one line for the operator."""
    try:
        cli()
    except ConfigError as error:
        raise SystemExit(f"Error: {error}") from None
