"""Bodies too large for SNS go by offload, in the AWS payload-offloading format."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.integration.test_receive import emitted_metrics
from tests.support.aws_proxy import AwsProxy
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment
from tools.devkit.events import api_event, pps_headers

SNS_LIMIT = 262_144
POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"


def body_of_size(size: int) -> str:
    prefix = '{"orderId":"ORD-BIG","blob":"'
    return prefix + "x" * (size - len(prefix) - 2) + '"}'


def attributes_size(headers: dict[str, str]) -> int:
    pps = {name: value for name, value in headers.items() if name.startswith("X-Pps-")}
    return sum(len(name) + len("String") + len(value.encode()) for name, value in pps.items())


def test_a_large_body_is_stored_in_s3_and_published_as_a_pointer(
    sandbox: Sandbox,
    stack: Deployment,
    token: Callable[..., str],
    aws_proxy: AwsProxy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    headers = pps_headers(token())
    body = body_of_size(600_000)

    response = sandbox.invoke(api_event("http", headers, body, base64_body=True))

    assert response.status == 200
    (message,) = stack.published("OrdersPlacedTopic")
    pointer_class, location = json.loads(message.message)
    assert pointer_class == POINTER_CLASS
    assert location["s3BucketName"] == stack.refs["PayloadBucket"]
    assert stack.payload(location["s3Key"]) == body.encode()
    assert message.attributes["ExtendedPayloadSize"] == str(len(body.encode()))
    assert message.attribute_types["ExtendedPayloadSize"] == "Number"
    assert message.attributes["X-Pps-Webhook-Id"] == headers["X-Pps-Webhook-Id"]
    assert aws_proxy.calls == ["dynamodb.PutItem", "s3.PutObject", "sns.Publish", "dynamodb.UpdateItem"]
    assert "ClaimChecked" in emitted_metrics(capsys)


def test_the_claim_check_starts_exactly_above_the_sns_limit(
    sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    headers = pps_headers(token(), webhook_id="fits-exactly")
    fits = body_of_size(SNS_LIMIT - attributes_size(headers))
    sandbox.invoke(api_event("http", headers, fits))
    headers = pps_headers(token(), webhook_id="one-byte-over")
    over = body_of_size(SNS_LIMIT - attributes_size(headers) + 1)
    sandbox.invoke(api_event("http", headers, over))

    direct, pointer = stack.published("OrdersPlacedTopic")
    assert direct.message == fits
    assert "ExtendedPayloadSize" not in direct.attributes
    assert json.loads(pointer.message)[0] == POINTER_CLASS
    assert stack.payload_keys() == ["payloads/OU1243/one-byte-over"]


def test_a_failed_upload_publishes_nothing_and_the_retry_succeeds(
    sandbox: Sandbox, stack: Deployment, token: Callable[..., str], aws_proxy: AwsProxy
) -> None:
    headers = pps_headers(token())
    body = body_of_size(300_000)
    aws_proxy.fail("s3.PutObject")

    assert sandbox.invoke(api_event("http", headers, body)).status == 500
    assert stack.published("OrdersPlacedTopic") == []
    assert stack.records() == []

    aws_proxy.heal()
    assert sandbox.invoke(api_event("http", {**headers, "Authorization": f"Bearer {token()}"}, body)).status == 200
    (message,) = stack.published("OrdersPlacedTopic")
    assert stack.payload(json.loads(message.message)[1]["s3Key"]) == body.encode()
