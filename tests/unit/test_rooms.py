"""Each audience has its own room: what is deployed (functions/, layers/) and what an operator runs (ops/) import
nothing of the developer tooling, so neither ships nor needs it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tools.devkit.paths import ROOT

DEPLOYED = {"aws_lambda_powertools", "boto3", "botocore", "jwt", "cryptography", "pps_webhooks", "mypy_boto3_dynamodb"}
DEPLOYED |= {"mypy_boto3_s3", "mypy_boto3_sns", "mypy_boto3_sqs", "aws_xray_sdk"}
ROOMS = {
    "layers": DEPLOYED,
    "functions": DEPLOYED | {"orders", "logic"},  # a function's sibling modules, on /var/task
    "examples": DEPLOYED,
    "ops": {"boto3", "botocore", "click", "pps_ops", "mypy_boto3_dynamodb", "mypy_boto3_s3", "mypy_boto3_sns"}
    | {"mypy_boto3_sqs", "mypy_boto3_lambda", "mypy_boto3_cloudformation", "mypy_boto3_firehose"},
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots - set(sys.stdlib_module_names) - {"__future__"}


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_a_room_imports_only_the_standard_library_and_its_own_dependencies(room: str) -> None:
    files = sorted((ROOT / room).rglob("*.py"))
    assert files
    strays = {f"{path.relative_to(ROOT)}: {name}" for path in files for name in imported_roots(path) - ROOMS[room]}
    assert strays == set()


def test_the_check_would_see_a_stray_import(tmp_path: Path) -> None:
    module = tmp_path / "stray.py"
    module.write_text("import json\nfrom tools.devkit import events\nimport moto.server\n")
    assert imported_roots(module) == {"tools", "moto"}
