"""ops/ stays the operator's room: its code imports the standard library, boto3/botocore and click, and nothing of
the developer tooling (tools, tests, moto, rich, SAM CLI) or of the deployed code."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

OPS = Path(__file__).resolve().parents[2] / "ops"
MODULES = sorted((OPS / "pps_ops").rglob("*.py"))
ALLOWED = {"boto3", "botocore", "click", "pps_ops"}
# Stubs for the type checker, imported only under `if TYPE_CHECKING:`: never when the tools run.
TYPE_STUBS = "mypy_boto3_"
DEV_TOOLING = {"tools", "tests", "bench", "moto", "rich", "samcli", "pytest", "pps_webhooks", "yaml", "ruamel"}


def imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """(top-level module, only for the type checker) for every import in a module."""
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
            found.append(("pps_ops" if node.level else (node.module or "").split(".")[0], typing_only))
        for child in ast.iter_child_nodes(node):
            visit(child, typing_only)

    visit(tree, False)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def test_there_are_modules_to_check() -> None:
    assert {path.name for path in MODULES} >= {"cli.py", "replay.py", "redrive.py", "lambda_events.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(OPS)))
def test_an_ops_module_imports_only_the_stdlib_boto3_and_click(path: Path) -> None:
    found = imports(ast.parse(path.read_text(), str(path)))

    at_run_time = {name for name, typing_only in found if not typing_only}
    for_the_type_checker = {name for name, typing_only in found if typing_only}
    assert not (at_run_time | for_the_type_checker) & DEV_TOOLING
    assert at_run_time <= ALLOWED | sys.stdlib_module_names, at_run_time - ALLOWED - sys.stdlib_module_names
    assert all(
        name in ALLOWED or name in sys.stdlib_module_names or name.startswith(TYPE_STUBS)
        for name in for_the_type_checker
    ), for_the_type_checker


def test_ops_declares_boto3_and_click_and_pins_them() -> None:
    project = tomllib.loads((OPS / "pyproject.toml").read_text())["project"]
    pins = [line.split("==")[0] for line in (OPS / "requirements.txt").read_text().splitlines() if "==" in line]

    assert sorted(re.split(r"[<>=!~;\[ ]", requirement)[0] for requirement in project["dependencies"]) == [
        "boto3",
        "click",
    ]
    assert sorted(pins) == ["boto3", "click"]
