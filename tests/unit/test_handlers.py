"""Each function is imported as in a sandbox of its own: its sibling modules are its own, whatever was loaded before."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tools.devkit.handlers import Code, import_handler


def function(root: Path, name: str) -> Code:
    directory = root / name
    directory.mkdir()
    (directory / "logic.py").write_text(f"NAME = {name!r}\n")
    (directory / "app.py").write_text(
        "from logic import NAME\n\ndef lambda_handler(event, context):\n    return NAME\n"
    )
    return Code(directory=directory, handler="app.lambda_handler", layers=())


def test_a_function_loaded_again_after_another_gets_its_own_sibling_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    a, b = function(tmp_path, "a"), function(tmp_path, "b")

    loaded = [import_handler(code)[1]({}, None) for code in (a, b, a)]

    assert loaded == ["a", "b", "a"]
    assert "logic" not in sys.modules
