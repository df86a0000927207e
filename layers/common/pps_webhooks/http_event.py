"""API Gateway events in, API Gateway responses out.

HTTP API (payload 2.0) and REST API (payload 1.0) proxy events carry `headers`, `body` and
`isBase64Encoded` under the same names, so one reader serves both. A plain dict lookup is all
the receiver needs here; Powertools' event-source classes would add imports, not safety.

A header sent more than once reads the same on both fronts: the HTTP API joins its values with ","
in `headers`; the REST API keeps the last one in `headers` and all of them in `multiValueHeaders`,
which are joined here the same way, and remembered as repeated.
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
    repeated_headers: frozenset[str] = frozenset()
    """Lower-cased names of the headers that the event shows with more than one value."""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def repeated(self, name: str) -> bool:
        return name.lower() in self.repeated_headers

    def body(self) -> bytes:
        """The body as the sender sent it; decoded only when asked, so nothing is parsed before auth."""
        if not self.raw_body:
            return b""
        if not self.base64_encoded:
            try:
                return self.raw_body.encode()
            except UnicodeEncodeError as error:  # a lone surrogate: no bytes were ever sent like this
                raise BadRequest("invalid-body", ["body is not UTF-8 text"]) from error
        try:
            return base64.b64decode(self.raw_body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise BadRequest("invalid-body", ["body is marked isBase64Encoded but is not valid base64"]) from error


def read_request(event: Mapping[str, Any]) -> HttpRequest:
    values = _header_values(event)
    context = event.get("requestContext") or {}
    return HttpRequest(
        headers={name: ",".join(listed) for name, listed in values.items()},
        raw_body=event.get("body"),
        base64_encoded=bool(event.get("isBase64Encoded")),
        request_id=str(context.get("requestId", "")),
        repeated_headers=frozenset(name for name, listed in values.items() if len(listed) > 1),
    )


def _header_values(event: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every value of every header, by lower-cased name; `multiValueHeaders` wins where it has the header."""
    single: dict[str, list[str]] = {}
    for name, value in (event.get("headers") or {}).items():
        if value is not None:
            single.setdefault(str(name).lower(), []).append(str(value))
    multi: dict[str, list[str]] = {}
    for name, listed in (event.get("multiValueHeaders") or {}).items():
        present = [str(value) for value in listed or [] if value is not None]
        if present:
            multi.setdefault(str(name).lower(), []).extend(present)
    return {**single, **multi}


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
