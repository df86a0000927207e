"""Each audience has its own room. What is deployed (functions/, layers/, examples/) and what an operator runs
(ops/) import the standard library and their own dependencies, never the developer tooling (tools, tests, moto,
rich, SAM CLI): neither ships it nor needs it to run."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

from tools.devkit.paths import ROOT

DEPLOYED = {"aws_lambda_powertools", "boto3", "botocore", "jwt", "cryptography", "pps_webhooks", "aws_xray_sdk"}
ROOMS = {
    "layers": DEPLOYED,
    "functions": DEPLOYED | {"orders", "logic"},  # a function's sibling modules, on /var/task
    "examples": DEPLOYED,
    "ops": {"boto3", "botocore", "click", "pps_ops"},
}
TYPE_STUBS = "mypy_boto3_"
"""Stubs for the type checker, imported only under `if TYPE_CHECKING:`: never when the code runs."""
DEV_TOOLING = {"tools", "tests", "bench", "moto", "rich", "samcli", "samtranslator", "pytest", "yaml", "ruamel"}


def imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """(top-level module, only for the type checker) for every import in a module; "" for a relative import."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                visit(statement, True)
            for statement in node.orelse:
                visit(statement, typing_only)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name.split(".")[0], typing_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append(("" if node.level else (node.module or "").split(".")[0], typing_only))
        for child in ast.iter_child_nodes(node):
            visit(child, typing_only)

    visit(tree, False)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def strays(path: Path, allowed: set[str]) -> set[str]:
    """What a module imports beyond the standard library and `allowed` (stubs for the type checker aside)."""
    known = allowed | set(sys.stdlib_module_names) | {"__future__", ""}
    found = imports(ast.parse(path.read_text(), str(path)))
    return {
        name
        for name, typing_only in found
        if name in DEV_TOOLING or (name not in known and not (typing_only and name.startswith(TYPE_STUBS)))
    }


MODULES = [(room, path) for room in sorted(ROOMS) for path in sorted((ROOT / room).rglob("*.py"))]


@pytest.mark.parametrize(("room", "path"), MODULES, ids=[str(path.relative_to(ROOT)) for _, path in MODULES])
def test_a_module_imports_only_the_standard_library_and_its_rooms_dependencies(room: str, path: Path) -> None:
    assert strays(path, ROOMS[room]) == set()


def test_every_room_has_modules_to_check() -> None:
    assert {room for room, _ in MODULES} == set(ROOMS)


def test_the_check_sees_a_stray_import_even_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "stray.py"
    module.write_text(
        "import json\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mypy_boto3_s3\n"
        "def f():\n    from tools.devkit import events\n    import moto.server\n"
    )
    assert strays(module, {"boto3"}) == {"tools", "moto"}


def test_ops_declares_boto3_and_click_and_pins_them() -> None:
    project = tomllib.loads((ROOT / "ops" / "pyproject.toml").read_text())["project"]
    requirements = (ROOT / "ops" / "requirements.txt").read_text().splitlines()

    assert sorted(re.split(r"[<>=!~;\[ ]", requirement)[0] for requirement in project["dependencies"]) == [
        "boto3",
        "click",
    ]
    assert sorted(line.split("==")[0] for line in requirements if "==" in line) == ["boto3", "click"]
