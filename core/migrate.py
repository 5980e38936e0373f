"""Alembic driven from the app: the core history plus every loaded plugin's version branch."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Flask

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(app: Flask) -> Config:
    state = app.extensions["nebulo"]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    locations = [str(MIGRATIONS / "versions"), *state.registry.migration_dirs]
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    return config


def _run(app: Flask, action, *args) -> None:
    config = alembic_config(app)
    with app.extensions["nebulo"].db.engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, *args)


def upgrade(app: Flask, revision: str = "heads") -> None:
    _run(app, command.upgrade, revision)


def downgrade(app: Flask, revision: str) -> None:
    _run(app, command.downgrade, revision)


def current(app: Flask) -> None:
    _run(app, command.current, True)


def revision(
    app: Flask, message: str, head: str, version_path: str | None, branch: str | None
) -> None:
    config = alembic_config(app)
    with app.extensions["nebulo"].db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(
            config,
            message=message,
            autogenerate=True,
            head=head,
            version_path=version_path,
            branch_label=branch,
        )


def heads(app: Flask) -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(app)).get_heads())
