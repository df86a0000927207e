"""`python -m tools.build.lambda_image [x86_64|arm64]`: build the image unless this machine has it; print its tag."""

from __future__ import annotations

import os
import sys

import docker

from tools.build.lambda_image import ensure


def main() -> int:
    architecture = sys.argv[1] if len(sys.argv) > 1 else ("arm64" if os.uname().machine == "aarch64" else "x86_64")
    print(ensure(docker.from_env(), architecture, lambda line: print(line, file=sys.stderr, flush=True)))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
