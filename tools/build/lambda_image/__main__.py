"""`python -m tools.build.lambda_image [x86_64|arm64]`: build the image unless this machine has it; print its tag."""

from __future__ import annotations

import os

import click
import docker

from tools.build.lambda_image import ensure


@click.command(help=__doc__)
@click.argument(
    "architecture",
    type=click.Choice(["x86_64", "arm64"]),
    default="arm64" if os.uname().machine == "aarch64" else "x86_64",
)
def main(architecture: str) -> None:
    click.echo(ensure(docker.from_env(), architecture, lambda line: click.echo(line, err=True)))


if __name__ == "__main__":
    main()
