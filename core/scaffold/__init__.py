"""``nebulo plugin new NAME``: a plugin package that installs, migrates and passes its tests.

The files are rendered from the ``*.tmpl`` templates beside this module (shipped in Nebulo's
wheel as package data) with :class:`string.Template` placeholders such as ``${name}``.
"""

from __future__ import annotations

import keyword
import re
from importlib.metadata import entry_points, packages_distributions, version
from pathlib import Path
from string import Template

from core.hookspecs import CONTRACT_VERSION
from core.plugins import ENTRY_POINT_GROUP

TEMPLATES = Path(__file__).resolve().parent
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Output path (placeholders allowed) -> template file.
FILES = {
    "pyproject.toml": "pyproject.toml.tmpl",
    "README.md": "README.md.tmpl",
    "conftest.py": "conftest.py.tmpl",
    "${package}/__init__.py": "plugin_init.py.tmpl",
    "${package}/models.py": "models.py.tmpl",
    "${package}/schemas.py": "schemas.py.tmpl",
    "${package}/services.py": "services.py.tmpl",
    "${package}/routes.py": "routes.py.tmpl",
    "${package}/tools.py": "tools.py.tmpl",
    "${package}/metrics.py": "metrics.py.tmpl",
    "${package}/migrations/${revision}.py": "migration.py.tmpl",
    "tests/test_${name}.py": "test_plugin.py.tmpl",
}


class ScaffoldError(ValueError):
    """The plugin cannot be created as asked; the message says why and what to do."""


def check_plugin_name(name: str) -> None:
    """A plugin name is a short lower-case Python identifier that no installed plugin uses."""
    if not NAME_PATTERN.fullmatch(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{name!r} is not a valid plugin name: use 1-40 lower-case letters, digits and "
            "underscores, starting with a letter (e.g. loyalty or gift_cards)"
        )
    if name in {entry_point.name for entry_point in entry_points(group=ENTRY_POINT_GROUP)}:
        raise ScaffoldError(f"a plugin named {name!r} is already installed; choose another name")


def nebulo_requirement() -> str:
    """The requirement on the installed Nebulo distribution, whatever it is named."""
    distributions = packages_distributions().get("core")
    if not distributions:
        raise ScaffoldError("Nebulo is not installed in this environment: pip install it first")
    return f"{distributions[0]}>={version(distributions[0])}"


def template_values(name: str) -> dict[str, str]:
    major = int(CONTRACT_VERSION.split(".")[0])
    words = name.replace("_", " ")
    return {
        "name": name,
        "words": words,
        "title": words.capitalize(),
        "package": f"nebulo_{name}",
        "distribution": f"nebulo-{name.replace('_', '-')}",
        "model": "".join(part.capitalize() for part in name.split("_")) + "Item",
        "table": f"{name}_items",
        "revision": f"0001_{name}",
        "contract": f">={CONTRACT_VERSION},<{major + 1}",
        "nebulo_requirement": nebulo_requirement(),
    }


def create_plugin(name: str, parent: Path) -> Path:
    """Write the plugin package ``nebulo-<name>`` under ``parent``; return its directory."""
    check_plugin_name(name)
    values = template_values(name)
    target = Path(parent) / values["distribution"]
    if target.exists():
        raise ScaffoldError(f"{target} already exists; remove it or choose another directory")
    for output, template in FILES.items():
        path = target / Template(output).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template((TEMPLATES / template).read_text()).substitute(values))
    return target
