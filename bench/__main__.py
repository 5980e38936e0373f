"""Run every benchmark module (or those named) and print the figures."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(names: list[str]) -> int:
    modules = sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if info.name.startswith("bench_")
    )
    selected = [m for m in modules if not names or any(n in m for n in names)]
    missed = 0
    for module_name in selected:
        module = importlib.import_module(f"bench.{module_name}")
        print(f"== {module_name}", flush=True)
        for figure in module.run():
            print(figure.row(), flush=True)
            missed += not figure.met
    print(f"{missed} target(s) missed" if missed else "all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
