"""Alembic driven from the app: the core history plus every loaded plugin's version branch."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from flask import Flask
from sqlalchemy import Connection, inspect, text

from core.config import sqlite_path
from core.db import Base

# Inside the ``core`` package, so that a wheel carries it like any other package data.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"


def alembic_config(app: Flask) -> Config:
    state = app.extensions["nebulo"]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    locations = [str(MIGRATIONS / "versions"), *state.registry.migration_dirs]
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    return config


def _script(app: Flask) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(app))


def _run(app: Flask, action: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    config = alembic_config(app)
    with app.extensions["nebulo"].db.engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, *args, **kwargs)


def upgrade(app: Flask, revision: str = "heads") -> None:
    """The one way a database comes to exist: a missing SQLite file (and its folder) is made."""
    sqlite_file = sqlite_path(app.extensions["nebulo"].settings.database_url)
    if sqlite_file is not None:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    _run(app, command.upgrade, revision)


def downgrade(app: Flask, revision: str) -> None:
    _run(app, command.downgrade, revision)


class RevisionError(Exception):
    """``nebulo db revision`` cannot write the revision asked for; the message says why."""


def write_revision(message: str, plugin: str = "core") -> Path:
    """Autogenerate the next revision of ``plugin``'s branch into its own version directory.

    The models are compared with the migrations applied to a scratch SQLite database in a
    temporary directory, looking only at the plugin's tables: it works from any directory,
    whatever the state of the real database, and creates no database or instance folder."""
    from core.app import create_app  # core.app imports this module
    from core.config import load_settings

    with tempfile.TemporaryDirectory(prefix="nebulo-revision-") as scratch:
        settings = load_settings(
            env="development",
            database_url=f"sqlite:///{Path(scratch) / 'scratch.db'}",
            instance_path=scratch,
            secret_key=secrets.token_urlsafe(48),
            redis_url=None,
        )
        app = create_app(settings)
        try:
            return _write_revision(app, message, plugin)
        finally:
            app.extensions["nebulo"].jobs.stop()
            app.extensions["nebulo"].db.dispose()


def _write_revision(app: Flask, message: str, plugin: str) -> Path:
    if plugin == "core":
        package, version_path = "core", str(MIGRATIONS / "versions")
    else:
        package, version_path = _plugin_package_and_versions(app, plugin)
    tables = {
        mapper.local_table.name
        for mapper in Base.registry.mappers
        if mapper.class_.__module__ == package or mapper.class_.__module__.startswith(package + ".")
    }

    def include_object(obj: Any, name: str, type_: str, reflected: bool, compare_to: Any) -> bool:
        return (obj if type_ == "table" else obj.table).name in tables

    upgrade(app)
    has_branch = any(plugin in script.branch_labels for script in _script(app).walk_revisions())
    config = alembic_config(app)
    config.attributes["include_object"] = include_object
    with app.extensions["nebulo"].db.engine.begin() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        if not compare_metadata(context, Base.metadata):
            raise RevisionError(
                f"{plugin}'s models match its migrations: nothing to write. Change models.py "
                "first, then run this command again."
            )
        config.attributes["connection"] = connection
        script = command.revision(
            config,
            message=message,
            autogenerate=True,
            head=f"{plugin}@head" if has_branch else "base",
            branch_label=None if has_branch else plugin,
            version_path=version_path,
        )
    return Path(script.path)


def _plugin_package_and_versions(app: Flask, plugin: str) -> tuple[str, str]:
    """The package holding ``plugin``'s models and its registered version directory."""
    record = app.extensions["nebulo"].plugins.records.get(plugin)
    if record is None:
        raise RevisionError(
            f"no plugin named {plugin!r} is installed; install it (pip install -e <its "
            "directory>) in the environment that runs nebulo"
        )
    if record.status == "disabled":
        raise RevisionError(
            f"plugin {plugin} is disabled: enable it (NEBULO_PLUGINS, NEBULO_DISABLE_PLUGINS)"
        )
    if record.status == "failed":
        raise RevisionError(f"plugin {plugin} failed to load: {record.error}")
    directories = record.contributions.get("migrations", [])
    if not directories:
        raise RevisionError(
            f"plugin {plugin} registers no migrations directory: its register_models hook "
            "must call register(Path(__file__).parent / 'migrations')"
        )
    package = getattr(record.module, "__package__", None) or record.module.__name__
    return package, directories[0]


def heads(app: Flask) -> list[str]:
    return list(_script(app).get_heads())


@dataclass(frozen=True)
class MigrationState:
    """Where the database stands against the loaded code's migration heads."""

    current: tuple[str, ...]
    heads: tuple[str, ...]
    # Heads of the code that the database has not reached: `nebulo db upgrade` applies them.
    pending: tuple[str, ...]
    # Revisions in the database that no loaded version directory knows (a plugin removed or
    # disabled after its migrations ran).
    unknown: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return not self.pending


def migration_state(app: Flask) -> MigrationState:
    """Compare the database's revisions with the heads of the core and loaded plugins."""
    script = _script(app)
    with app.extensions["nebulo"].db.engine.connect() as connection:
        current = tuple(sorted(_applied_revisions(connection)))
    known = {revision for revision in current if _lookup(script, revision) is not None}
    reached: set[str] = set()
    for revision in known:
        reached.update(ancestor.revision for ancestor in script.iterate_revisions(revision, "base"))
    script_heads = tuple(sorted(script.get_heads()))
    return MigrationState(
        current=current,
        heads=script_heads,
        pending=tuple(head for head in script_heads if head not in reached),
        unknown=tuple(sorted(set(current) - known)),
    )


def _applied_revisions(connection: Connection) -> list[str]:
    """The revisions in ``alembic_version``, read directly: ``MigrationContext`` would log two
    INFO lines on every readiness probe."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return []
    return list(connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}")))


def _lookup(script: ScriptDirectory, revision: str) -> Script | None:
    try:
        return script.get_revision(revision)
    except CommandError:
        return None


def describe(app: Flask, revision: str) -> str:
    """One line for a revision: id, branch labels and message, as ``db current`` prints it."""
    found = _lookup(_script(app), revision)
    if found is None:
        return f"{revision} (unknown to the loaded plugins)"
    return _line(found)


def history(app: Flask) -> list[str]:
    """Every revision of every branch, newest first: ``down -> id (branches) message``."""
    return [
        f"{_down_revisions(script)} -> {_line(script)}" for script in _script(app).walk_revisions()
    ]


def head_lines(app: Flask) -> list[str]:
    script = _script(app)
    return [_line(script.get_revision(head)) for head in sorted(script.get_heads())]


def _down_revisions(script: Script) -> str:
    down = script.down_revision
    if down is None:
        return "<base>"
    return ", ".join(down) if isinstance(down, tuple) else down


def _line(script: Script) -> str:
    labels = f" ({', '.join(sorted(script.branch_labels))})" if script.branch_labels else ""
    return f"{script.revision}{labels}: {' '.join(script.doc.split())}"
