"""API Gateway events in, API Gateway responses out.

HTTP API (payload 2.0) and REST API (payload 1.0) proxy events carry `headers`, `body` and
`isBase64Encoded` under the same names, so one reader serves both. A plain dict lookup is all
the receiver needs here; Powertools' event-source classes would add imports, not safety.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pps_webhooks.errors import BadRequest

JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class HttpRequest:
    headers: Mapping[str, str]
    """Header names lower-cased: HTTP header names are case-insensitive."""
    raw_body: str | None = None
    base64_encoded: bool = False
    request_id: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def body(self) -> bytes:
        """The body as the sender sent it; decoded only when asked, so nothing is parsed before auth."""
        if not self.raw_body:
            return b""
        if not self.base64_encoded:
            return self.raw_body.encode()
        try:
            return base64.b64decode(self.raw_body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise BadRequest("invalid-body", ["body is marked isBase64Encoded but is not valid base64"]) from error


def read_request(event: Mapping[str, Any]) -> HttpRequest:
    headers = event.get("headers") or {}
    context = event.get("requestContext") or {}
    return HttpRequest(
        headers={str(name).lower(): str(value) for name, value in headers.items() if value is not None},
        raw_body=event.get("body"),
        base64_encoded=bool(event.get("isBase64Encoded")),
        request_id=str(context.get("requestId", "")),
    )


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_api_gateway(self) -> dict[str, Any]:
        return {
            "statusCode": self.status,
            "headers": {**JSON_HEADERS, **self.headers},
            "body": json.dumps(self.body, separators=(",", ":")),
            "isBase64Encoded": False,
        }
