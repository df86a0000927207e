"""Load the receiver handler the way Lambda does (a fresh module per sandbox) and invoke it."""

from __future__ import annotations

import importlib.util
import itertools
import json
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from local.template import ROOT
from tests.support.lambda_context import LambdaContext

APP = ROOT / "functions" / "webhook_receiver" / "app.py"
_sandboxes = itertools.count()


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    raw_body: str


class Sandbox:
    """One Lambda execution environment: its module-level clients and JWKS cache live as long as it."""

    def __init__(self) -> None:
        """Import app.py anew; the environment must be set before (module-level code reads it)."""
        spec = importlib.util.spec_from_file_location(f"webhook_receiver_app_{next(_sandboxes)}", APP)
        assert spec is not None
        assert spec.loader is not None
        self.module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)

    def invoke(self, event: dict[str, Any], context: LambdaContext | None = None) -> Response:
        result = self.module.lambda_handler(event, context or LambdaContext())
        return Response(
            status=result["statusCode"],
            body=json.loads(result["body"]) if result.get("body") else {},
            headers=result.get("headers", {}),
            raw_body=result.get("body", ""),
        )
