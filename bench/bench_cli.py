"""Start-up time of the ``nebulo`` command against ``python -c "import flask"``.

``nebulo --help`` lists core's and every plugin's commands without building the app: the
start-up of the commands that need no app. ``nebulo db heads`` builds the app with every
plugin (and reads the migrations, without a database): the start-up of the commands that do,
reported beside it. All are timed as fresh processes, interleaved, in the same run; each figure
is the median of RUNS. Model libraries (scikit-learn, google-genai) stay out of both paths:
they are imported where a model is trained or a provider is built.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import Figure, Target

RUNS = 5
TARGET_MS = 1500.0
NEBULO = Path(sys.executable).with_name("nebulo")


def _wall_ms(command: list[str], environ: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=environ, check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="nebulo-bench-cli-") as instance:
        environ = {**os.environ, "NEBULO_INSTANCE_PATH": instance}
        commands = {
            "help": [str(NEBULO), "--help"],
            "app": [str(NEBULO), "db", "heads"],
            "flask": [sys.executable, "-c", "import flask"],
        }
        for command in commands.values():
            _wall_ms(command, environ)  # warm up the disk cache and the bytecode
        timings: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(RUNS):
            for name, command in commands.items():
                timings[name].append(_wall_ms(command, environ))
    flask = statistics.median(timings["flask"])
    return [
        Figure(
            "nebulo --help start-up (every plugin's commands, no app)",
            statistics.median(timings["help"]),
            "ms",
            flask,
            'python -c "import flask"',
            RUNS,
            Target("<=", TARGET_MS),
        ),
        Figure(
            "nebulo db heads start-up (builds the app, every plugin)",
            statistics.median(timings["app"]),
            "ms",
            flask,
            'python -c "import flask"',
            RUNS,
        ),
    ]
