"""A copy of this project to change (a generated consumer, say): the tools, installed from here, act on it when
they run in it."""

from __future__ import annotations

import shutil
from pathlib import Path

from tools.devkit.paths import ROOT

COPIED = ("template.yaml", "pyproject.toml", "functions", "layers/common", "events", "examples")


def copy_of_the_project(target: Path) -> Path:
    for name in COPIED:
        source, copy = ROOT / name, target / name
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", ".mypy_cache"))
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy)
    return target
