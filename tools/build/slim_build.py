"""`make build` runs this after `sam build`: make .aws-sam/build what Lambda should load.

- The layer drops the packages the python3.13 runtime already provides (boto3, botocore and their
  dependencies): the X-Ray SDK pulls botocore in, where it would shadow the runtime's and triple the
  layer's size.
- Every function and layer gets bytecode for the runtime's Python, with unchecked-hash invalidation:
  Lambda's code directories are read-only, so without it every cold start compiles every imported
  module again (about double the import time), and a timestamp check would depend on zip mtimes.
`sam build` alone still produces a working artifact, only a larger and slower-starting one.
"""

from __future__ import annotations

import compileall
import py_compile
import shutil
import sys
from pathlib import Path

import click

from tools.devkit.paths import ROOT
from tools.devkit.template import load_template, resources_of_type

BUILD = ROOT / ".aws-sam" / "build"
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "six", "python_dateutil")
RUNTIME_PYTHON = (3, 13)


def prune_runtime_packages(site: Path) -> list[str]:
    removed = []
    for entry in sorted(site.iterdir()):
        name = entry.name.split("-", 1)[0].removesuffix(".py").lower()
        if name in RUNTIME_PROVIDED:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            removed.append(entry.name)
    return removed


def compile_tree(directory: Path, runtime_path: str) -> None:
    ok = compileall.compile_dir(
        directory,
        quiet=1,
        workers=0,
        ddir=runtime_path,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        raise SystemExit(f"compileall failed in {directory}")


@click.command(help=__doc__)
def main() -> None:
    if sys.version_info[:2] != RUNTIME_PYTHON:
        raise click.ClickException(f"bytecode must be compiled by Python {RUNTIME_PYTHON}: run it with the .venv")
    if not BUILD.is_dir():
        raise click.ClickException(f"nothing to slim: {BUILD} does not exist (run sam build first: make build does)")
    template = load_template()
    for layer in resources_of_type(template, "AWS::Serverless::LayerVersion"):
        site = BUILD / layer / "python"
        if site.is_dir():
            removed = prune_runtime_packages(site)
            compile_tree(site, "/opt/python")
            click.echo(f"{layer}: removed {', '.join(removed) or 'nothing'}; compiled")
    for function in resources_of_type(template, "AWS::Serverless::Function"):
        code = BUILD / function
        if code.is_dir():
            compile_tree(code, "/var/task")
            click.echo(f"{function}: compiled")
