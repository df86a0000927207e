"""The events the local run's API front builds from a real request have the shape of the samples' (AWS's own)."""

from __future__ import annotations

import base64
import json
from typing import Any

from tools.devkit.events import api_event, pps_headers, request_event
from tools.devkit.paths import EVENTS


def request(body: bytes, content_type: str) -> dict[str, Any]:
    headers = [("Host", "127.0.0.1:3000"), ("Content-Type", content_type), ("Cookie", "a=1; b=2")]
    headers += [*pps_headers("t0ken").items(), ("X-Forwarded-For", "198.51.100.7")]
    return request_event(
        method="POST",
        path="/webhooks",
        query="x=1&x=2",
        headers=headers,
        body=body,
        source_ip="127.0.0.1",
        port=3000,
        route_key="POST /webhooks",
    )


def test_a_request_gives_the_event_an_http_api_sends() -> None:
    event = request(b'{"orderId":"A"}', "application/json")
    sample = json.loads((EVENTS / "http-api-orders-placed.json").read_text())  # the committed sample, AWS's shape

    assert set(event) - {"cookies", "queryStringParameters"} == set(sample)
    assert set(event["requestContext"]) == set(sample["requestContext"])
    assert event["body"] == '{"orderId":"A"}'
    assert event["isBase64Encoded"] is False
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["queryStringParameters"] == {"x": "1,2"}
    headers = event["headers"]
    assert headers["authorization"] == "Bearer t0ken"
    assert headers["x-forwarded-for"] == "198.51.100.7, 127.0.0.1"


def test_a_body_that_is_not_text_arrives_base64_encoded() -> None:
    event = request(b"\xff\x00binary", "application/octet-stream")

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(str(event["body"])) == b"\xff\x00binary"


def test_an_api_event_body_keeps_what_no_client_could_encode() -> None:
    event = api_event("rest", pps_headers("t0ken"), '{"note":"\udc80"}')

    assert event["body"] == '{"note":"\udc80"}'
    assert event["headers"]["Authorization"] == "Bearer t0ken"
    assert event["multiValueHeaders"]["X-Pps-Topic"] == ["orders/placed"]
