"""The real `make <target> NAME=value...` of this repository, as the README shows the operator commands, with the
AWS SDK pointed at an emulator."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from typing import Any

from tools.devkit.paths import ROOT


def make(
    target: str, aws_endpoint: str, variables: Mapping[str, str], **options: Any
) -> subprocess.CompletedProcess[str]:
    """Its output as text; `options` go to subprocess.run (a timeout of 120 s unless given)."""
    return subprocess.run(
        ["make", "--no-print-directory", target, *(f"{name}={value}" for name, value in variables.items())],
        cwd=ROOT,
        env={**os.environ, "AWS_ENDPOINT_URL": aws_endpoint},
        capture_output=True,
        text=True,
        check=False,
        **{"timeout": 120, **options},
    )


def with_ctrl_c() -> None:
    """A child's Ctrl-C as in a terminal (SIGINT's default action, a KeyboardInterrupt in Python): a test run started
    in the background, as CI may start it, passes SIGINT on ignored, and Python then never raises KeyboardInterrupt.
    For subprocess's preexec_fn."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
