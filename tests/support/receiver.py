"""Load a function's handler the way Lambda does (a fresh module per sandbox) and invoke it."""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from tests.support.lambda_context import lambda_context
from tools.devkit.invoker import LambdaContext
from tools.devkit.paths import ROOT
from tools.devkit.template import load_template

RECEIVER = "WebhookReceiverFunction"
_sandboxes = itertools.count()


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    raw_body: str


class Sandbox:
    """One Lambda execution environment: its module-level clients and caches live as long as it."""

    def __init__(self, function: str = RECEIVER) -> None:
        """Import the function's handler module anew; its environment must be set before (it is read at import)."""
        properties = load_template()["Resources"][function]["Properties"]
        code_dir = ROOT / properties["CodeUri"]
        module_name, self._handler_name = properties["Handler"].rsplit(".", 1)
        if str(code_dir) not in sys.path:  # as /var/task is on Lambda: the handler's siblings import
            sys.path.insert(0, str(code_dir))
        spec = importlib.util.spec_from_file_location(
            f"{module_name}_{next(_sandboxes)}", code_dir / f"{module_name}.py"
        )
        assert spec is not None
        assert spec.loader is not None
        self.module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)
        self.timeout_ms = int(properties.get("Timeout", 3)) * 1000

    def handle(self, event: dict[str, Any], context: LambdaContext | None = None) -> Any:
        return getattr(self.module, self._handler_name)(event, context or lambda_context(timeout_ms=self.timeout_ms))

    def invoke(self, event: dict[str, Any], context: LambdaContext | None = None) -> Response:
        """Invoke an API Gateway-fronted handler and read its HTTP response."""
        result = self.handle(event, context)
        return Response(
            status=result["statusCode"],
            body=json.loads(result["body"]) if result.get("body") else {},
            headers=result.get("headers", {}),
            raw_body=result.get("body", ""),
        )
