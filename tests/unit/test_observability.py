"""Tracing off costs nothing at start-up; tracing on is Powertools' X-Ray tracer, unchanged."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import sys, pps_webhooks.observability as o;"
    "print(type(o.tracer.provider).__name__, 'aws_xray_sdk.core' in sys.modules, o.tracer.disabled)"
)


def probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("POWERTOOLS_TRACE_DISABLED", "LAMBDA_TASK_ROOT")}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return completed.stdout.strip()


@pytest.mark.parametrize(
    "env",
    [{"POWERTOOLS_TRACE_DISABLED": "true", "LAMBDA_TASK_ROOT": "/var/task"}, {}, {"AWS_SAM_LOCAL": "true"}],
)
def test_a_disabled_tracer_never_imports_the_xray_sdk(env: dict[str, str]) -> None:
    assert probe(**env) == "_NoTracing False True"


def test_in_lambda_the_tracer_is_powertools_xray_tracer() -> None:
    assert probe(LAMBDA_TASK_ROOT="/var/task") == "AsyncAWSXRayRecorder True False"
