"""API Gateway events built from the samples in events/: the exact shapes AWS sends."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

from tools.devkit.paths import ROOT

Format = Literal["http", "rest"]
FORMATS: tuple[Format, ...] = ("http", "rest")
SAMPLES = {"http": "http-api-orders-placed.json", "rest": "rest-api-orders-placed.json"}
ORDER_BODY = '{"orderId":"ORD-1001","status":"placed","product":"adv-120","quantity":2,"currency":"USD"}'


@cache
def _sample(fmt: Format) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / SAMPLES[fmt]).read_text())
    return event


def pps_headers(
    token: str | None,
    *,
    topic: str | None = "orders/placed",
    tenant_id: str | None = "OU1243",
    webhook_id: str | None = None,
    sub_topic: str | None = "product:adv/adv-120",
    triggered_at: str | None = "2024-01-1T10:00:00.7777748Z",
    scheme: str = "Bearer",
) -> dict[str, str]:
    """The headers PPS sends (None leaves one out); a fresh webhook id unless one is given."""
    headers = {
        "Authorization": f"{scheme} {token}" if token is not None else None,
        "X-Pps-Topic": topic,
        "X-Pps-Sub-Topic": sub_topic,
        "X-Pps-Tenant-Id": tenant_id,
        "X-Pps-Webhook-Id": webhook_id if webhook_id is not None else str(uuid.uuid4()),
        "X-Pps-Triggered-At": triggered_at,
    }
    return {name: value for name, value in headers.items() if value is not None}


def api_event(
    fmt: Format, headers: Mapping[str, str], body: str | bytes | None = ORDER_BODY, *, base64_body: bool = False
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) or REST API (payload 1.0) proxy event carrying these headers and body."""
    event = copy.deepcopy(_sample(fmt))
    transport = {
        name: value
        for name, value in event["headers"].items()
        if name.lower() != "authorization" and not name.lower().startswith("x-pps-")
    }
    if fmt == "http":  # HTTP APIs deliver header names lower-cased
        event["headers"] = {**transport, **{name.lower(): value for name, value in headers.items()}}
    else:
        event["headers"] = {**transport, **headers}
        event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
    if body is None:
        event["body"] = None
    elif base64_body:
        raw = body.encode() if isinstance(body, str) else body
        event["body"] = base64.b64encode(raw).decode()
    else:
        event["body"] = body if isinstance(body, str) else body.decode()
    event["isBase64Encoded"] = base64_body
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    return event
