"""API Gateway events in (HTTP API 2.0 and REST API 1.0), API Gateway responses out."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from pps_webhooks.errors import BadRequest
from pps_webhooks.http_event import HttpResponse, read_request
from tools.devkit import dev_key, samples
from tools.devkit.paths import EVENTS

SAMPLES = {"http": "http-api-orders-placed.json", "rest": "rest-api-orders-placed.json"}
REQUEST_IDS = {"http": "Rx6sLjQ5IAMEVxA=", "rest": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}
WEBHOOK_IDS = {"http": samples.PLACED_ID, "rest": "8d1f7c3e-2a64-4b9e-b0f5-6c3a9e2d1b47"}
BODIES = {"http": samples.PLACED_BODY, "rest": samples.PLACED_BODY.replace("ORD-1001", "ORD-1002")}


def sample(fmt: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / SAMPLES[fmt]).read_text())
    return copy.deepcopy(event)


@pytest.mark.parametrize("fmt", SAMPLES)
def test_a_sample_event_is_read_as_api_gateway_sent_it(fmt: str) -> None:
    request = read_request(sample(fmt))

    assert request.header("X-Pps-Topic") == "orders/placed"
    assert request.header("X-Pps-Tenant-Id") == "OU1243"
    assert request.header("X-Pps-Webhook-Id") == WEBHOOK_IDS[fmt]
    assert request.header("X-Pps-Triggered-At") == "2024-01-1T10:00:00.7777748Z"
    assert request.header("Authorization") == f"Bearer {dev_key.sample_token()}"
    assert request.body() == BODIES[fmt].encode()
    assert request.base64_encoded is False
    assert request.request_id == REQUEST_IDS[fmt]


@pytest.mark.parametrize("fmt", SAMPLES)
@pytest.mark.parametrize("name", ["X-Pps-Topic", "x-pps-topic", "X-PPS-TOPIC", "x-Pps-tOpIc"])
def test_header_lookup_ignores_case(fmt: str, name: str) -> None:
    assert read_request(sample(fmt)).header(name) == "orders/placed"


def test_an_absent_header_is_none() -> None:
    assert read_request(sample("http")).header("X-Pps-Not-Sent") is None


def test_a_rest_event_with_null_headers_has_no_headers() -> None:
    event = sample("rest")
    event["headers"] = None
    event["multiValueHeaders"] = None

    request = read_request(event)

    assert dict(request.headers) == {}
    assert request.header("X-Pps-Topic") is None
    assert request.body() == BODIES["rest"].encode()


def test_a_header_with_a_null_value_is_left_out() -> None:
    event = sample("rest")
    event["headers"]["X-Pps-Sub-Topic"] = None
    event["multiValueHeaders"]["X-Pps-Sub-Topic"] = [None]

    request = read_request(event)

    assert request.header("X-Pps-Sub-Topic") is None
    assert "x-pps-sub-topic" not in request.headers


def test_an_event_without_request_context_has_an_empty_request_id() -> None:
    assert read_request({"headers": {}, "body": "x"}).request_id == ""


@pytest.mark.parametrize("fmt", SAMPLES)
@pytest.mark.parametrize("raw", [b'{"note":"caf\xc3\xa9"}', b"\xff\x00\xfe binary"], ids=["utf-8", "binary"])
def test_a_base64_body_is_decoded_to_the_bytes_sent(fmt: str, raw: bytes) -> None:
    event = sample(fmt)
    event["body"] = base64.b64encode(raw).decode()
    event["isBase64Encoded"] = True

    request = read_request(event)

    assert request.base64_encoded is True
    assert request.body() == raw


@pytest.mark.parametrize("body", ["not base64!", "abc", "eyJ=a"])
def test_a_body_marked_base64_that_is_not_base64_is_a_bad_request(body: str) -> None:
    event = sample("http")
    event["body"] = body
    event["isBase64Encoded"] = True

    with pytest.raises(BadRequest) as raised:
        read_request(event).body()

    assert raised.value.reason == "invalid-body"
    assert raised.value.problems == ["body is marked isBase64Encoded but is not valid base64"]


@pytest.mark.parametrize("body", [None, ""])
@pytest.mark.parametrize("encoded", [False, True])
def test_no_body_reads_as_empty_bytes(body: str | None, encoded: bool) -> None:
    event = sample("rest")
    event["body"] = body
    event["isBase64Encoded"] = encoded

    assert read_request(event).body() == b""


def test_a_response_becomes_an_api_gateway_proxy_result() -> None:
    response = HttpResponse(200, {"status": "accepted", "webhookId": "279e4e55"})

    result = response.to_api_gateway()

    assert result == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"status":"accepted","webhookId":"279e4e55"}',
        "isBase64Encoded": False,
    }
    assert json.loads(result["body"]) == {"status": "accepted", "webhookId": "279e4e55"}


def test_a_response_keeps_its_own_headers_beside_the_content_type() -> None:
    result = HttpResponse(503, {"message": "later"}, {"Retry-After": "5"}).to_api_gateway()

    assert result["statusCode"] == 503
    assert result["headers"] == {"Content-Type": "application/json", "Retry-After": "5"}
    assert json.loads(result["body"]) == {"message": "later"}


def test_the_rest_api_reads_every_value_of_a_repeated_header_from_multi_value_headers() -> None:
    event = sample("rest")
    event["headers"]["X-Pps-Sub-Topic"] = "second"  # API Gateway keeps the last value here
    event["multiValueHeaders"]["X-Pps-Sub-Topic"] = ["first", "second"]

    request = read_request(event)

    assert request.header("X-Pps-Sub-Topic") == "first,second"  # joined as the HTTP API joins them
    assert request.repeated("x-pps-sub-topic")
    assert not request.repeated("X-Pps-Topic")


def test_the_same_header_under_two_spellings_counts_as_repeated() -> None:
    request = read_request({"headers": {"X-Pps-Webhook-Id": "a", "x-pps-webhook-id": "b"}, "body": "x"})

    assert request.repeated("X-Pps-Webhook-Id")
    assert request.header("X-Pps-Webhook-Id") == "a,b"
