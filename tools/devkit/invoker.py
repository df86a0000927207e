"""Load a function's handler as Lambda does, and invoke it with a Lambda-like context.

Every function runs in this one process. Each is imported after its environment is set (module-level
code reads it at import), with its code directory and its layers on sys.path as Lambda has them. The functions share
Powertools' logger, so invocations take turns: as if each function had a single sandbox.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider import cold_start

from tools.devkit.emulator import STACK_NAME
from tools.devkit.handlers import import_handler
from tools.devkit.lambda_context import LambdaContext
from tools.devkit.stack import Deployment, FunctionSpec

_turns = threading.Lock()


@dataclass(frozen=True)
class Invocation:
    result: Any
    error: BaseException | None
    problems: list[str]
    """What the function logged at WARNING or above: refusal reasons, exceptions."""
    seconds: float


class _Problems(logging.Handler):
    """Collects the reasons a function logs during the current invocation (invocations take turns)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.current: list[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.current is None:
            return
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            self.current.append(f"{type(error).__name__}: {error}")
        else:
            self.current.append(str(getattr(record, "reason", None) or record.getMessage()))


_problems = _Problems()
_metrics = Metrics()  # Powertools' metrics are shared by every Metrics instance


@dataclass
class Function:
    spec: FunctionSpec
    handler: Callable[[dict[str, Any], Any], Any]
    environment: Mapping[str, str]
    timeout_seconds: float
    memory_mb: int
    function_name: str
    """Its name in the stack (CloudFormation's), as its context gives it."""

    @property
    def name(self) -> str:
        return self.spec.logical_id

    def invoke(self, event: dict[str, Any]) -> Invocation:
        context = LambdaContext(self.function_name, self.memory_mb, self.timeout_seconds)
        with _turns:
            problems: list[str] = []
            _problems.current = problems
            started = time.monotonic()
            try:
                result, error = self.handler(event, context), None
            except Exception as raised:  # noqa: BLE001 - as Lambda: any exception is a failed invocation
                result, error = None, raised
            finally:
                _problems.current = None
                if is_metrics_disabled():
                    # Powertools clears metrics only when it prints them: disabled, they would pile up.
                    _metrics.clear_metrics()
        return Invocation(result, error, problems, time.monotonic() - started)


def load(deployment: Deployment, spec: FunctionSpec, environment: Mapping[str, str]) -> Function:
    """Import the handler with `environment` applied to os.environ (its cold start)."""
    os.environ.update(environment)
    if is_metrics_disabled():
        cold_start.is_cold_start = False  # Powertools prints the ColdStart metric even when metrics are disabled
    _, handler = import_handler(spec.code)
    service = logging.getLogger(environment.get("POWERTOOLS_SERVICE_NAME", "service_undefined"))
    if _problems not in service.handlers:
        service.addHandler(_problems)
    return Function(
        spec,
        handler,
        dict(environment),
        timeout_seconds=int(_setting(deployment, spec.logical_id, "Timeout", 3)),
        memory_mb=int(_setting(deployment, spec.logical_id, "MemorySize", 128)),
        function_name=deployment.refs.get(spec.logical_id) or f"{STACK_NAME}-{spec.logical_id}",
    )


def _setting(deployment: Deployment, function: str, name: str, default: int) -> Any:
    """A function property, else its Globals value, else Lambda's default."""
    template = deployment.source
    value = template["Resources"][function]["Properties"].get(
        name, template.get("Globals", {}).get("Function", {}).get(name, default)
    )
    return deployment.resolver().resolve(value)
