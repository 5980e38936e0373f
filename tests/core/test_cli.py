"""The ``nebulo`` command as an operator uses it: where the instance lives, no database made by
mistake, the migration status commands, ``doctor``, and a start-up that imports no heavy library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import redis
import rq

from core.cli import cli
from core.config import ConfigError, default_instance_path, load_settings, sqlite_path
from tests.core.helpers import assert_error, make_plugin
from tests.core.test_deployment import closed_port
from tests.core.test_migrations import fresh_app, nebulo  # noqa: F401 - the fixture below uses it

NEBULO = Path(sys.executable).with_name("nebulo")


@pytest.fixture
def empty_app(stack, request):
    """An app on an empty database of the stack's kind (``fresh_app``): an SQLite file with no
    table, like PostgreSQL's empty schema."""
    app = request.getfixturevalue("fresh_app")
    sqlite_file = sqlite_path(app.extensions["nebulo"].settings.database_url)
    if sqlite_file is not None:
        sqlite_file.touch()
    return app


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(cli=cli, args=list(args))


# --- the instance folder and the database file ------------------------------------------------


def test_the_instance_folder_and_its_database_do_not_depend_on_the_working_directory(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    here = load_settings({})
    monkeypatch.chdir(Path.home())
    there = load_settings({})
    assert here.instance_path == there.instance_path == str(default_instance_path())
    assert here.database_url == there.database_url == f"sqlite:///{here.instance_path}/nebulo.db"
    # a source checkout keeps it in the checkout, beside the code, as `make run` always did
    assert default_instance_path() == Path(__file__).resolve().parents[2] / "instance"


def test_nebulo_instance_path_moves_the_database_and_the_secret(tmp_path):
    settings = load_settings({"NEBULO_INSTANCE_PATH": str(tmp_path / "site")})
    assert settings.database_url == f"sqlite:///{tmp_path / 'site' / 'nebulo.db'}"
    assert (tmp_path / "site" / "secret_key").read_text().strip() == settings.secret_key


def test_a_relative_instance_path_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="NEBULO_INSTANCE_PATH must be an absolute path"):
        load_settings({"NEBULO_INSTANCE_PATH": "instance"})


def test_a_relative_sqlite_url_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="relative SQLite path") as refusal:
        load_settings({"DATABASE_URL": "sqlite:///nebulo.db", "NEBULO_INSTANCE_PATH": "/srv/x"})
    assert "sqlite:////path/to/nebulo.db" in str(refusal.value)
    assert "/srv/x/nebulo.db" in str(refusal.value)


def test_a_database_url_that_is_not_one_is_refused():
    with pytest.raises(ConfigError, match="is not a database URL"):
        load_settings({"DATABASE_URL": "not a url"})


@pytest.fixture
def missing_database_app(stack, make_app, tmp_path):
    """An app whose SQLite file does not exist yet (a typo in a path, or before the upgrade)."""
    return make_app(database_url=f"sqlite:///{tmp_path / 'typo' / 'nebulo.db'}")


@pytest.mark.parametrize(
    "command", [("db", "current"), ("db", "downgrade", "base"), ("demo",), ("worker",)]
)
def test_a_command_on_a_missing_sqlite_file_refuses_and_creates_nothing(
    missing_database_app, tmp_path, command
):
    result = invoke(missing_database_app, *command)
    assert result.exit_code == 1
    assert f"the database {tmp_path / 'typo' / 'nebulo.db'} does not exist" in result.output
    assert "nebulo db upgrade" in result.output
    assert not (tmp_path / "typo").exists()


def test_help_and_code_only_commands_work_without_the_database(missing_database_app, tmp_path):
    assert invoke(missing_database_app, "demo", "--help").exit_code == 0
    assert " (core): " in invoke(missing_database_app, "db", "heads").output
    assert invoke(missing_database_app, "db", "history").exit_code == 0
    assert not (tmp_path / "typo").exists()


def test_db_upgrade_creates_the_missing_sqlite_file_and_its_folder(missing_database_app, tmp_path):
    assert invoke(missing_database_app, "db", "upgrade").exit_code == 0
    assert (tmp_path / "typo" / "nebulo.db").is_file()
    assert "at head" in invoke(missing_database_app, "db", "current").output


@pytest.mark.slow
def test_the_command_from_another_directory_finds_the_same_instance(tmp_path):
    instance = tmp_path / "instance"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environ = {"PATH": os.environ["PATH"], "NEBULO_INSTANCE_PATH": str(instance)}
    result = subprocess.run(
        [NEBULO, "db", "current"], env=environ, cwd=elsewhere, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert f"Error: the database {instance / 'nebulo.db'} does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(elsewhere.iterdir()) and not (instance / "nebulo.db").exists()


# --- db current / heads / history ------------------------------------------------------------


def test_db_current_on_a_migrated_database_shows_every_branch_at_head(empty_app):
    nebulo(empty_app, "db", "upgrade")
    output = nebulo(empty_app, "db", "current").output
    for line in nebulo(empty_app, "db", "heads").output.splitlines():
        assert line in output
    assert output.rstrip().endswith("at head")


def test_db_current_on_an_empty_database_says_what_to_run(empty_app):
    output = nebulo(empty_app, "db", "current").output
    assert "no revision applied" in output and "not at head" in output
    assert "run `nebulo db upgrade`" in output


def test_db_current_names_the_branch_left_behind(empty_app):
    nebulo(empty_app, "db", "upgrade")
    nebulo(empty_app, "db", "downgrade", "orders@-1")
    output = nebulo(empty_app, "db", "current").output
    assert "not at head" in output and "orders" in output.splitlines()[-1]


def test_db_heads_names_each_branch_once(empty_app):
    lines = nebulo(empty_app, "db", "heads").output.splitlines()
    branches = [line.split("(", 1)[1].split(")", 1)[0] for line in lines]
    assert sorted(branches) == sorted(set(branches))
    assert {"core", "orders", "customers", "messages", "assistant"} <= set(branches)


def test_db_history_lists_each_revision_after_its_parent(empty_app):
    lines = nebulo(empty_app, "db", "history").output.splitlines()
    assert "<base> -> 0001_core (core): core tables" in lines
    assert any(line.startswith("0001_core -> 0002_jobs") for line in lines)
    assert sum(line.startswith("<base> -> ") for line in lines) >= 5  # one root per branch


# --- /readyz and doctor --------------------------------------------------------------------------


def test_readiness_reports_migrations_not_at_head(empty_app):
    body = assert_error(empty_app.test_client().get("/readyz"), 503, "SERVICE_UNAVAILABLE")
    assert body["errors"] == {"migrations": ["not at head"]}
    assert body["detail"] == "Not ready: migrations not at head"
    nebulo(empty_app, "db", "upgrade")
    assert empty_app.test_client().get("/readyz").get_json()["checks"]["migrations"] == "ok"


def doctor_lines(app) -> tuple[int, dict[str, str]]:
    """The exit code and each check's ``LEVEL message``."""
    result = invoke(app, "doctor")
    lines = {}
    for line in result.output.splitlines():
        level, _, rest = line.partition(" ")
        check, _, message = rest.strip().partition(": ")
        if message:
            lines[check] = f"{level} {message}"
    return result.exit_code, lines


def test_doctor_passes_on_a_healthy_deployment(app, stack):
    worker = None
    if stack.redis_url:
        worker = rq.Worker([app.extensions["nebulo"].jobs.queue], connection=redis_client(stack))
        worker.register_birth()
    try:
        code, lines = doctor_lines(app)
    finally:
        if worker is not None:
            worker.register_death()
    assert code == 0, lines
    assert lines["database"].startswith("OK reachable")
    assert lines["migrations"].startswith("OK at head")
    assert lines["plugins"].startswith("OK") and "none failed" in lines["plugins"]
    if stack.redis_url:
        assert lines["workers"].startswith("OK 1 worker(s) alive")
    else:
        assert lines["redis"].startswith("OK not configured")


def redis_client(stack) -> redis.Redis:
    return redis.Redis.from_url(stack.redis_url)


def test_doctor_says_to_upgrade_a_database_behind_the_code(empty_app):
    code, lines = doctor_lines(empty_app)
    assert code == 1
    assert lines["migrations"].startswith("ERROR not at head")
    assert "run `nebulo db upgrade`" in lines["migrations"]


def test_doctor_names_a_missing_sqlite_file_without_creating_it(missing_database_app, tmp_path):
    code, lines = doctor_lines(missing_database_app)
    assert code == 1
    assert lines["database"].startswith("ERROR the SQLite file")
    assert not (tmp_path / "typo").exists()


def test_doctor_names_an_unreachable_database(make_app):
    down = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nebulo"
    code, lines = doctor_lines(make_app(database_url=down))
    assert code == 1
    assert lines["database"].startswith("ERROR unreachable") and "DATABASE_URL" in lines["database"]
    assert "migrations" not in lines


def test_doctor_names_unreachable_redis(make_app):
    code, lines = doctor_lines(make_app(redis_url=f"redis://127.0.0.1:{closed_port()}/0"))
    assert code == 1
    assert lines["redis"].startswith("ERROR unreachable") and "REDIS_URL" in lines["redis"]
    assert "workers" not in lines


def test_doctor_says_to_start_a_worker_when_none_serves_the_queue(app, stack):
    if not stack.redis_url:
        pytest.skip("workers exist only with Redis")
    code, lines = doctor_lines(app)
    assert code == 1
    assert lines["workers"].startswith("ERROR no `nebulo worker` serves the queue")
    assert stack.namespace in lines["workers"]


def test_doctor_names_a_failed_plugin_and_how_to_disable_it(make_app):
    def explode(register):
        raise RuntimeError("the plugin's own bug")

    broken = make_plugin("broken", register_permissions=explode)
    code, lines = doctor_lines(make_app(extra_plugins=[("broken", broken)]))
    assert code == 1
    assert "the plugin's own bug" in lines["plugin broken"]
    assert "NEBULO_DISABLE_PLUGINS=broken" in lines["plugin broken"]


def test_doctor_warns_about_sqlite_and_no_redis_in_production_without_failing(make_app, stack):
    if stack.name != "sqlite":
        pytest.skip("the SQLite stack runs without Redis")
    app = make_app(env="production", plugins=("no-plugin",))
    code, lines = doctor_lines(app)
    assert lines["database"].startswith("WARNING SQLite in production")
    assert lines["redis"].startswith("WARNING not configured")
    assert lines["secrets"].startswith("OK NEBULO_SECRET_KEY is set")
    assert code == 0


# --- plugin commands ----------------------------------------------------------------------------


def test_a_plugin_command_refuses_when_the_app_did_not_load_its_plugin(make_app):
    app = make_app(disable_plugins=("memberships",))
    result = invoke(app, "memberships", "expire")
    assert result.exit_code == 1
    assert "plugin memberships is not loaded: disabled" in result.output


def write_plugin(site: Path) -> None:
    """A third-party plugin found through its entry point, whose hook adds a command that reads
    the app without ``with_appcontext`` and one that takes core's ``db``."""
    (site / "nebulo_greeter.py").write_text(
        textwrap.dedent(
            """
            import click
            from flask import current_app

            from core.hookspecs import hookimpl


            @hookimpl
            def plugin_info():
                return {"name": "greeter", "version": "0.1.0"}


            @hookimpl
            def register_commands(cli):
                @cli.command("greet")
                def greet():
                    \"\"\"Greet from inside the app.\"\"\"
                    loaded = current_app.extensions["nebulo"].plugins.records["greeter"].status
                    click.echo(f"hello from the app: greeter {loaded}")

                @cli.group("db")
                def db():
                    \"\"\"Not core's.\"\"\"
            """
        )
    )
    dist_info = site / "nebulo_greeter-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: nebulo-greeter\n")
    (dist_info / "entry_points.txt").write_text("[nebulo.plugins]\ngreeter = nebulo_greeter\n")


@pytest.mark.slow
def test_a_third_party_plugins_command_is_listed_and_runs_in_the_app(tmp_path):
    write_plugin(tmp_path)
    environ = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(tmp_path),
        "NEBULO_INSTANCE_PATH": str(tmp_path / "instance"),
    }

    def nebulo_command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [NEBULO, *args], env=environ, cwd=tmp_path, capture_output=True, text=True
        )

    listing = nebulo_command("--help")
    assert listing.returncode == 0, listing.stderr
    assert "greet  " in listing.stdout and "Database migrations" in listing.stdout
    assert "plugin greeter: command 'db' is core's" in listing.stderr
    assert nebulo_command("db", "upgrade").returncode == 0
    greeted = nebulo_command("greet")
    assert greeted.returncode == 0, greeted.stderr
    assert "hello from the app: greeter loaded" in greeted.stdout


# --- start-up time ------------------------------------------------------------------------------

# Imported where they are used: model libraries, numpy, and the HTTP client (which pulls rich).
HEAVY_MODULES = ("sklearn", "scipy", "google.genai", "joblib", "numpy", "httpx", "rich")


# What building the app imports, and what listing the commands must not.
APP_MODULES = ("core.app", "flask_smorest", "marshmallow", "sqlalchemy.orm", "redis", "rq")


@pytest.mark.slow
def test_listing_the_commands_builds_no_app_and_imports_no_plugin_model_or_route(tmp_path):
    probe = (
        "import json, sys\n"
        "from core.cli import cli\n"
        "cli(['--help'], standalone_mode=False)\n"
        f"imported = [name for name in {(*HEAVY_MODULES, *APP_MODULES)!r} if name in sys.modules]\n"
        "loaded_modules = sorted(name for name in sys.modules"
        " if name.endswith(('.models', '.routes', '.services')))\n"
        "print(json.dumps({'imported': imported, 'models_routes_services': loaded_modules}))\n"
    )
    environ = {"PATH": os.environ["PATH"], "NEBULO_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=environ, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    *help_lines, last = result.stdout.splitlines()
    listed = {line.split()[0] for line in help_lines[help_lines.index("Commands:") + 1 :]}
    assert {"db", "demo", "serve", "worker", "orders", "customers", "chat", "persons"} <= listed
    assert json.loads(last) == {"imported": [], "models_routes_services": []}


@pytest.mark.slow
def test_loading_the_command_and_every_plugin_imports_no_heavy_library(tmp_path):
    probe = (
        "import json, sys\n"
        "from core.cli import cli\n"
        "from core.app import create_app\n"
        "app = create_app()\n"
        "loaded = [r.name for r in app.extensions['nebulo'].plugins.records.values()"
        " if r.status == 'loaded']\n"
        f"heavy = [name for name in {HEAVY_MODULES!r} if name in sys.modules]\n"
        "print(json.dumps({'loaded': loaded, 'heavy': heavy}))\n"
    )
    environ = {
        "PATH": os.environ["PATH"],
        "NEBULO_INSTANCE_PATH": str(tmp_path),
        "NEBULO_ENV": "testing",
    }
    result = subprocess.run(
        [sys.executable, "-c", probe], env=environ, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert {"customers", "assistant", "orders", "messages"} <= set(report["loaded"])
    assert report["heavy"] == []
