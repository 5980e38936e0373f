"""The ``nebulo`` command: database, demo data, server, workers; plugins add their own.

Listing the commands (``nebulo --help``) and resolving one does not build the app: plugin
commands come from the ``register_commands`` hook, called on the installed plugins imported
with none of their registration hooks, so no plugin's models or routes are imported. The app
(``core.app``, every plugin's models, routes and schemas) is built when a command that needs
it runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, ScriptInfo, with_appcontext

from core.config import ConfigError, load_settings, sqlite_path
from core.plugins import PluginManager

log = logging.getLogger(__name__)

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


class PluginCommand(NamedTuple):
    plugin: str
    command: click.Command


class NebuloGroup(FlaskGroup):
    """Lists and resolves commands without building the app; builds it for a command that runs.

    Refuses a command that needs the database when its SQLite file is missing, instead of
    letting SQLite create an empty one (a typo in a path must not make a new database).
    Flask's ``flask.commands`` entry points are not read: they add installed Flask extensions'
    commands (and their imports) to the ``flask`` command, not to Nebulo's."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._plugin_commands(ctx)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        plugin_command = self._plugin_commands(ctx).get(name)
        if plugin_command is not None:
            return plugin_command.command
        # A command the app adds itself: flask-smorest's ``openapi``, or one of a plugin given
        # to ``create_app`` rather than installed.
        app = ctx.ensure_object(ScriptInfo).load_app()
        _enter_app_context(ctx, app)
        return app.cli.get_command(ctx, name)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, command, rest = super().resolve_command(ctx, args)
        asks_for_help = any(arg in ctx.help_option_names for arg in rest)
        if command is None or ctx.resilient_parsing or asks_for_help:
            return name, command, rest
        path = (name, *rest[:1])
        if not any(path[: len(allowed)] == allowed for allowed in WITHOUT_DATABASE):
            _refuse_missing_database(ctx)
        plugin_command = None if name in self.commands else self._plugin_commands(ctx).get(name)
        if plugin_command is not None:
            _run_in_plugin_app(ctx, plugin_command.plugin)
        return name, command, rest

    def _plugin_commands(self, ctx: click.Context) -> dict[str, PluginCommand]:
        """The commands of every plugin that loads under the settings, by name, collected once
        per invocation; a plugin's command never replaces one of core's or of an earlier
        plugin."""
        info = ctx.ensure_object(ScriptInfo)
        if "plugin_commands" in info.data:
            return info.data["plugin_commands"]
        settings = load_settings()
        plugins = PluginManager(trace=settings.trace_plugins)
        plugins.load(
            plugins.discover(),
            enabled=settings.plugins,
            disabled=settings.disable_plugins,
            registering=(),
        )
        found: dict[str, PluginCommand] = {}
        for impl in plugins.in_order("register_commands"):
            plugin_cli = AppGroup()
            try:
                plugins.call("register_commands", impl, cli=plugin_cli)
            except Exception:  # noqa: BLE001 - a broken plugin must not take the command down
                log.exception("plugin %s failed in register_commands", impl.plugin_name)
                continue
            for name, command in plugin_cli.commands.items():
                if name in self.commands or name in found:
                    owner = found[name].plugin if name in found else "core"
                    log.error("plugin %s: command %r is %s's", impl.plugin_name, name, owner)
                    continue
                found[name] = PluginCommand(impl.plugin_name, command)
        info.data["plugin_commands"] = found
        return found


def _build_app() -> Flask:
    """Imported here, so that only the commands that need the app pay for building it."""
    from core.app import create_app

    return create_app()


def _enter_app_context(ctx: click.Context, app: Flask) -> None:
    """Push ``app``'s context for the rest of the command, as Flask does for ``app.cli``."""
    if not current_app or current_app._get_current_object() is not app:
        ctx.with_resource(app.app_context())


def _run_in_plugin_app(ctx: click.Context, plugin: str) -> None:
    """A plugin's command runs inside the app, where its plugin must have loaded: the listing
    did not call the registration hooks, in which a plugin may still fail."""
    app = ctx.ensure_object(ScriptInfo).load_app()
    record = app.extensions["nebulo"].plugins.records.get(plugin)
    if record is None or record.status != "loaded":
        reason = (record.error or record.status) if record else "not loaded by this app"
        raise click.ClickException(f"plugin {plugin} is not loaded: {reason}")
    _enter_app_context(ctx, app)


def _refuse_missing_database(ctx: click.Context) -> None:
    settings = ctx.ensure_object(ScriptInfo).load_app().extensions["nebulo"].settings
    missing = sqlite_path(settings.database_url)
    if missing is not None and not missing.exists():
        raise click.ClickException(
            f"the database {missing} does not exist. Create it with `nebulo db upgrade`, or "
            "point DATABASE_URL (or NEBULO_INSTANCE_PATH) at the existing one."
        )


@click.group(cls=NebuloGroup, create_app=_build_app, add_default_commands=False)
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

    from core.jobs.dispatchers import serve_jobs

    serve_jobs(current_app._get_current_object())
    click.echo(f"Nebulo on http://{host}:{port}/ (API docs at http://{host}:{port}/docs)")
    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)


@cli.command("worker")
@click.option("--burst", is_flag=True, help="Quit once the queue is empty.")
@click.option("--name", default=None, help="Worker name (default: rq's host.pid name).")
@with_appcontext
def worker(burst: bool, name: str | None) -> None:
    """Run background jobs from Redis (start as many as you like, on any machine)."""
    from core.jobs.maintenance import recover_expired_jobs
    from core.jobs.redis_queue import RqDispatcher

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
