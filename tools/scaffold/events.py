"""`make events`: write the sample events (tools/devkit/samples.py) and events/env.json into events/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tools.devkit.paths import EVENTS, ROOT
from tools.devkit.samples import env_json, samples


def render(document: Any) -> str:
    return json.dumps(document, indent=2) + "\n"


def write(directory: Path = EVENTS) -> list[Path]:
    written = []
    for sample in samples():
        (directory / sample.file).write_text(render(sample.event))
        written.append(directory / sample.file)
    (directory / "env.json").write_text(render(env_json()))
    return [*written, directory / "env.json"]


@click.command(help=__doc__)
def main() -> None:
    for path in write():
        click.echo(f"wrote {path.relative_to(ROOT)}")
