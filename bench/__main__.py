"""Run every benchmark module (or those named), print the figures; exit 1 if a target is missed."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Iterable
from pathlib import Path

from bench import Figure


def verdict(figures: Iterable[Figure]) -> int:
    """Print which targets were missed; 1 if any was, else 0."""
    missed = [figure.name.strip() for figure in figures if not figure.met]
    if missed:
        print(f"{len(missed)} target(s) missed: {'; '.join(missed)}")
        return 1
    print("all targets met")
    return 0


def main(names: list[str]) -> int:
    modules = sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if info.name.startswith("bench_")
    )
    selected = [m for m in modules if not names or any(n in m for n in names)]
    if not selected:
        print(f"no benchmark matches {' '.join(names)}; there are: {', '.join(modules)}")
        return 2
    figures = []
    for module_name in selected:
        module = importlib.import_module(f"bench.{module_name}")
        print(f"== {module_name}", flush=True)
        for figure in module.run():
            print(figure.row(), flush=True)
            figures.append(figure)
    return verdict(figures)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
