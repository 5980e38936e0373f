"""README.md stays true: it names every environment variable the code reads."""

from pathlib import Path

from core.config import ENVIRONMENT_VARIABLES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_lists_every_core_variable():
    missing = [name for name in ENVIRONMENT_VARIABLES if f"`{name}`" not in README]
    assert not missing, f"README.md does not document {missing}"


def test_readme_lists_every_plugin_setting(app):
    settings = app.extensions["nebulo"].registry.settings
    assert settings, "the installed plugins register settings"
    missing = [name for name in settings if f"`{name}`" not in README]
    assert not missing, f"README.md does not document {missing}"


def test_readme_gives_the_two_commands():
    assert "make run" in README and "make test" in README
