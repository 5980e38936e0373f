"""Start-up time of the ``nebulo`` command against ``python -c "import flask"``.

Every command builds the app and loads every plugin before it runs, so ``nebulo --help`` is
the floor of any command's start-up. Both are timed as fresh processes, interleaved, in the
same run; each figure is the median of RUNS. Model libraries (scikit-learn, google-genai) must
stay out of this path: they are imported where a model is trained or a provider is built.
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
            "nebulo": [str(NEBULO), "--help"],
            "flask": [sys.executable, "-c", "import flask"],
        }
        for command in commands.values():
            _wall_ms(command, environ)  # warm up the disk cache and the bytecode
        timings: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(RUNS):
            for name, command in commands.items():
                timings[name].append(_wall_ms(command, environ))
    return [
        Figure(
            "nebulo --help start-up (app + every plugin)",
            statistics.median(timings["nebulo"]),
            "ms",
            statistics.median(timings["flask"]),
            'python -c "import flask"',
            RUNS,
            Target("<=", TARGET_MS),
        ),
    ]
