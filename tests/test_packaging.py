"""The distribution works without the checkout: the wheel and the sdist carry every migration,
and an installed wheel migrates, loads the demo and serves from any directory.

The fresh virtual environment borrows the dependencies of the one running the tests (a ``.pth``
line to its site-packages, added after the install so that pip never sees them) but not Nebulo:
the editable install's import hook is not run there, and the test checks that ``core`` comes from
the new environment."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from core.cli import DEMO_EMAIL, DEMO_PASSWORD

CHECKOUT = Path(__file__).resolve().parent.parent
NOT_SHIPPED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    "instance",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
)
PACKAGES = ("core", "plugins", "connectors", "assistant")


def checkout_files(*patterns: str) -> frozenset[str]:
    """The checkout's files under the four packages matching ``patterns`` (relative paths)."""
    return frozenset(
        str(path.relative_to(CHECKOUT))
        for package in PACKAGES
        for pattern in patterns
        for path in (CHECKOUT / package).glob(pattern)
        if path.is_file() and "__pycache__" not in path.parts
    )


# Every version directory the app registers (core's, each plugin's), and every template and
# static asset (the console's page, Swagger UI, ReDoc, the scaffold's templates): found in the
# checkout, so that a plugin or a file added later is checked too.
MIGRATION_FILES = checkout_files("**/migrations/**/*.py", "**/migrations/*.mako")
DATA_FILES = checkout_files("**/templates/**/*", "**/static/**/*", "**/*.tmpl")
SERVER_START_SECONDS = 120

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of the checkout, so that building leaves no ``build/`` or egg-info in it."""
    copy = tmp_path_factory.mktemp("source") / "nebulo"
    shutil.copytree(CHECKOUT, copy, ignore=NOT_SHIPPED)
    return copy


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(dist), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = dist.glob("nebulo_ops-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A virtual environment outside the checkout with the wheel installed (not editable)."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
        + ["--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    site_packages = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site_packages) / "nebulo_test_dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )
    return venv


def environment(venv: Path, home: Path) -> dict[str, str]:
    """Nothing of the checkout or of the test run: no PYTHONPATH, no NEBULO_* variables."""
    return {
        "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }


def run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        cwd=cwd,
        env=environment(venv, cwd),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_wheel_carries_every_migration_asset_and_the_wsgi_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"core/migrations/env.py", "plugins/console/templates/console/index.html"} <= (
        MIGRATION_FILES | DATA_FILES
    )
    assert names >= MIGRATION_FILES, sorted(MIGRATION_FILES - names)
    assert names >= DATA_FILES, sorted(DATA_FILES - names)
    assert "core/wsgi.py" in names
    assert not any(name.startswith(("tests/", "migrations/")) for name in names)


def test_the_sdist_carries_every_migration_and_asset(source, tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from setuptools import build_meta; build_meta.build_sdist({str(tmp_path)!r})",
        ],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (sdist,) = tmp_path.glob("nebulo[-_]ops-*.tar.gz")  # the name depends on setuptools
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    shipped = MIGRATION_FILES | DATA_FILES
    assert names >= shipped, sorted(shipped - names)
    assert {"wsgi.py", "core/wsgi.py", "MANIFEST.in"} <= names


def test_an_installed_wheel_migrates_loads_the_demo_and_serves(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    located = run(installed, elsewhere, "python", "-c", "import core; print(core.__file__)")
    assert Path(located.stdout.strip()).is_relative_to(installed)

    assert "database upgraded" in run(installed, elsewhere, "nebulo", "db", "upgrade").stdout
    # The instance folder of an installed Nebulo is in its environment, not the working directory
    instance = installed / "var" / "nebulo-instance"
    assert (instance / "nebulo.db").is_file() and (instance / "secret_key").is_file()
    assert not any(elsewhere.iterdir())
    assert "at head" in run(installed, elsewhere, "nebulo", "db", "current").stdout
    assert DEMO_EMAIL in run(installed, elsewhere, "nebulo", "demo").stdout

    port = free_port()
    server = subprocess.Popen(
        [installed / "bin" / "nebulo", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=environment(installed, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            wait_until_ready(http, server)
            tokens = http.post(
                "/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
            )
            assert tokens.status_code == 200, tokens.text
            headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
            projects = http.get("/api/v1/projects", headers=headers).json()
            assert len(projects) == 1
            orders = http.get(f"/api/v1/orders/{projects[0]['id']}", headers=headers)
            assert orders.status_code == 200 and len(orders.json()) > 0
            console = http.get("/")
            assert console.status_code == 200 and "console.js" in console.text
            assert http.get("/console/assets/vendor/vega-5.33.1/vega.min.js").status_code == 200
            spec = http.get("/openapi.json").json()
            assert "/api/v1/orders/{project_id}" in spec["paths"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def wait_until_ready(http: httpx.Client, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"nebulo serve exited: {server.stdout.read().decode()}")
        try:
            if http.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"nebulo serve did not answer within {SERVER_START_SECONDS} s")
