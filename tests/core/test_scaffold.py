"""``nebulo plugin new``: the package it writes, and the plugin author's whole path from there:
a revision into the plugin's own branch, a wheel installed without ``-e``, a migrated database,
the plugin's route and its tool through the assistant, and its own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from core import migrate
from core.cli import cli
from core.hookspecs import CONTRACT_VERSION
from core.scaffold import create_plugin, nebulo_requirement

BIN = Path(sys.executable).parent
PACKAGE_FILES = {
    "pyproject.toml",
    "README.md",
    "conftest.py",
    "nebulo_loyalty/__init__.py",
    "nebulo_loyalty/models.py",
    "nebulo_loyalty/schemas.py",
    "nebulo_loyalty/services.py",
    "nebulo_loyalty/routes.py",
    "nebulo_loyalty/tools.py",
    "nebulo_loyalty/metrics.py",
    "nebulo_loyalty/migrations/0001_loyalty.py",
    "tests/test_loyalty.py",
}


def run(*command: str | Path, cwd: Path, pythonpath: list[Path] = (), **env: str) -> str:
    """Run ``command`` as a user would, outside the checkout, with only the given variables."""
    environ = {"PATH": os.environ["PATH"], "HOME": str(cwd), **env}
    if pythonpath:
        environ["PYTHONPATH"] = os.pathsep.join(str(path) for path in pythonpath)
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (command, result.stdout, result.stderr)
    return result.stdout


def add_entry_point(site: Path) -> None:
    """The entry point ``pip install -e`` would add; the source directory goes on the path."""
    dist_info = site / "nebulo_loyalty-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: nebulo-loyalty\n")
    (dist_info / "entry_points.txt").write_text("[nebulo.plugins]\nloyalty = nebulo_loyalty\n")


def test_plugin_new_writes_a_complete_package(tmp_path):
    result = CliRunner().invoke(cli, ["plugin", "new", "loyalty", "--directory", str(tmp_path)])
    assert result.exit_code == 0, result.output
    target = tmp_path / "nebulo-loyalty"
    assert f"created {target}" in result.output
    written = {str(path.relative_to(target)) for path in target.rglob("*") if path.is_file()}
    assert written == PACKAGE_FILES

    project = tomllib.loads((target / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["nebulo.plugins"] == {"loyalty": "nebulo_loyalty"}
    assert project["tool"]["setuptools"]["package-data"] == {"nebulo_loyalty": ["migrations/*.py"]}
    assert project["project"]["dependencies"] == [nebulo_requirement()]
    hooks = (target / "nebulo_loyalty/__init__.py").read_text()
    major = int(CONTRACT_VERSION.split(".")[0])
    assert f'"nebulo": ">={CONTRACT_VERSION},<{major + 1}"' in hooks
    for hook in ("register_permissions", "register_models", "register_blueprints"):
        assert f"def {hook}(register):" in hooks
    for hook in ("register_tools", "register_metrics"):
        assert f"def {hook}(register):" in hooks
    assert "def load_demo(project, session):" in hooks
    migration = (target / "nebulo_loyalty/migrations/0001_loyalty.py").read_text()
    assert 'branch_labels = ("loyalty",)' in migration and 'depends_on = "0001_core"' in migration
    assert 'pytest_plugins = ["core.testing"]' in (target / "conftest.py").read_text()


def test_the_scaffold_is_lint_clean_and_formatted(tmp_path):
    target = create_plugin("gift_cards", tmp_path)
    run(BIN / "ruff", "check", ".", cwd=target)
    run(BIN / "ruff", "format", "--check", ".", cwd=target)
    assert "class GiftCardsItem(" in (target / "nebulo_gift_cards/models.py").read_text()
    assert '"/gift_cards"' in (target / "nebulo_gift_cards/routes.py").read_text()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Loyalty", "not a valid plugin name"),
        ("gift-cards", "not a valid plugin name"),
        ("1st_plugin", "not a valid plugin name"),
        ("class", "not a valid plugin name"),
        ("x" * 41, "not a valid plugin name"),
        ("orders", "a plugin named 'orders' is already installed"),
    ],
)
def test_plugin_new_refuses_a_bad_name(tmp_path, name, message):
    result = CliRunner().invoke(cli, ["plugin", "new", name, "--directory", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and message in result.output
    assert list(tmp_path.iterdir()) == []


def test_plugin_new_refuses_to_overwrite_a_directory(tmp_path):
    (tmp_path / "nebulo-loyalty").mkdir()
    (tmp_path / "nebulo-loyalty" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["plugin", "new", "loyalty", "--directory", str(tmp_path)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert [p.name for p in (tmp_path / "nebulo-loyalty").iterdir()] == ["keep.txt"]


def test_a_revision_needs_an_installed_loaded_plugin_with_changed_models(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(migrate.RevisionError, match="no plugin named 'ghost' is installed"):
        migrate.write_revision("anything", "ghost")
    with pytest.raises(migrate.RevisionError, match="core's models match its migrations"):
        migrate.write_revision("anything")
    monkeypatch.setenv("NEBULO_DISABLE_PLUGINS", "orders")
    with pytest.raises(migrate.RevisionError, match="plugin orders is disabled"):
        migrate.write_revision("anything", "orders")
    assert list(tmp_path.iterdir()) == []


def test_db_revision_refuses_clearly_on_the_command_line(tmp_path):
    result = CliRunner().invoke(cli, ["db", "revision", "--plugin", "ghost", "-m", "x"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no plugin named 'ghost' is installed")


@pytest.mark.slow
def test_db_revision_writes_into_the_plugins_own_directory_from_anywhere(tmp_path):
    source = create_plugin("loyalty", tmp_path)
    add_entry_point(tmp_path / "site")
    models = source / "nebulo_loyalty/models.py"
    models.write_text(models.read_text() + "    points: Mapped[int | None]\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    output = run(
        BIN / "nebulo",
        "db",
        "revision",
        "--plugin",
        "loyalty",
        "-m",
        "add points",
        cwd=elsewhere,
        pythonpath=[tmp_path / "site", source],
    )

    [written] = [
        p for p in (source / "nebulo_loyalty/migrations").glob("*.py") if "points" in p.name
    ]
    assert f"wrote {written}" in output
    revision = written.read_text()
    assert "down_revision = '0001_loyalty'" in revision
    assert "add_column(sa.Column('points', sa.Integer(), nullable=True))" in revision
    assert "create_table" not in revision  # only the change, only this plugin's tables
    assert list(elsewhere.iterdir()) == []  # no instance folder, no database, no secret key


CHECK_INSTALLED_PLUGIN = textwrap.dedent(
    """
    import json, sys
    from importlib.metadata import entry_points

    from core import migrate
    from core.app import create_app
    from core.testing import ApiClient

    [entry_point] = [e for e in entry_points(group="nebulo.plugins") if e.name == "loyalty"]
    app = create_app()
    state = app.extensions["nebulo"]
    client = app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    project = api.project(owner)
    url = f"/api/v1/loyalty/{project['id']}"
    created = client.post(url, json={"name": "Gift", "quantity": 4}, headers=owner)
    refused = client.post(url, json={"name": "Gift", "quantity": "many"}, headers=owner)
    answer = client.post(
        "/api/v1/assistant/query",
        json={"project_id": project["id"], "message": "how many loyalty items do we have?"},
        headers=owner,
    )
    json.dump(
        {
            "distribution": entry_point.dist.name,
            "module": sys.modules["nebulo_loyalty"].__file__,
            "status": state.plugins.records["loyalty"].status,
            "at_head": migrate.migration_state(app).at_head,
            "created": created.status_code,
            "refused": refused.status_code,
            "listed": client.get(url, headers=owner).get_json(),
            "answer": answer.get_json(),
        },
        sys.stdout,
    )
    """
)


@pytest.mark.slow
def test_a_scaffolded_plugin_installed_from_its_wheel_migrates_and_answers(tmp_path):
    source = create_plugin("loyalty", tmp_path)
    dist, site, elsewhere = tmp_path / "dist", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "-q")
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", dist, source, cwd=elsewhere)
    [wheel] = dist.glob("nebulo_loyalty-0.1.0-*.whl")
    run(*pip, "install", "--no-deps", "--target", site, wheel, cwd=elsewhere)
    assert (site / "nebulo_loyalty/migrations/0001_loyalty.py").is_file()
    environment = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "NEBULO_SECRET_KEY": "s" * 48,
        "NEBULO_ASSISTANT_PROVIDER": "offline",
    }

    run(BIN / "nebulo", "db", "upgrade", cwd=elsewhere, pythonpath=[site], **environment)
    script = elsewhere / "check.py"
    script.write_text(CHECK_INSTALLED_PLUGIN)
    report = json.loads(
        run(sys.executable, script, cwd=elsewhere, pythonpath=[site], **environment)
    )

    assert report["distribution"] == "nebulo-loyalty"
    assert report["module"].startswith(str(site))
    assert report["status"] == "loaded" and report["at_head"] is True
    assert report["created"] == 201 and report["refused"] == 422
    assert [(item["name"], item["quantity"]) for item in report["listed"]] == [("Gift", 4)]
    [call] = report["answer"]["function_calls"]
    assert call["name"] == "loyalty_summary" and call["ok"] is True
    assert call["result"] == {"items": 1, "total_quantity": 4}

    # The scaffold's own tests, against the installed wheel (importlib mode keeps the source
    # directory off sys.path).
    output = run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
        cwd=source,
        pythonpath=[site],
    )
    assert " passed" in output and "failed" not in output
