"""Load a function's handler the way Lambda does (a fresh module per sandbox) and invoke it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.devkit.handlers import code_of, import_handler
from tools.devkit.lambda_context import LambdaContext
from tools.devkit.paths import ROOT
from tools.devkit.template import load_template

RECEIVER = "WebhookReceiverFunction"


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    raw_body: str


class Sandbox:
    """One Lambda execution environment: its module-level clients and caches live as long as it."""

    def __init__(self, function: str = RECEIVER, root: Path = ROOT) -> None:
        """Import the function's handler module anew; its environment must be set before (it is read at import)."""
        template = load_template(root / "template.yaml")
        self.module, self._handler = import_handler(code_of(template, function, root))
        self.timeout_seconds = float(template["Resources"][function]["Properties"].get("Timeout", 3))

    def handle(self, event: dict[str, Any], context: LambdaContext | None = None) -> Any:
        return self._handler(event, context or LambdaContext(timeout_seconds=self.timeout_seconds))

    def invoke(self, event: dict[str, Any], context: LambdaContext | None = None) -> Response:
        """Invoke an API Gateway-fronted handler and read its HTTP response."""
        result = self.handle(event, context)
        return Response(
            status=result["statusCode"],
            body=json.loads(result["body"]) if result.get("body") else {},
            headers=result.get("headers", {}),
            raw_body=result.get("body", ""),
        )
