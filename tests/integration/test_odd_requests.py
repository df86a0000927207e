"""Odd but legal requests are delivered; what can never succeed is a 400; both API fronts decide alike.

PPS retries only answers >= 500: a 4xx for a genuine webhook loses it, and a 500 that every retry meets
again loses it too. So optional headers are passed through as they come, every id we accept gives a valid
S3 key, and only what SNS or API Gateway could never carry is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pps_webhooks.deliveries import PayloadStore, read_delivery
from tests.support.aws_proxy import AwsProxy
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment
from tools.devkit.events import FORMATS, ORDER_BODY, Format, api_event, pps_headers


def repeated(fmt: Format, event: dict[str, Any], name: str, values: list[str]) -> dict[str, Any]:
    """The event API Gateway makes of a request that carries header `name` once per value."""
    if fmt == "http":  # the HTTP API joins the values with "," under the lower-cased name
        event["headers"] = {key: value for key, value in event["headers"].items() if key.lower() != name.lower()}
        event["headers"][name.lower()] = ",".join(values)
    else:  # the REST API keeps the last value in headers, every value in multiValueHeaders
        event["headers"][name] = values[-1]
        event["multiValueHeaders"][name] = values
    return event


def nothing_written(stack: Deployment) -> bool:
    return stack.records() == [] and stack.all_published() == {topic: [] for topic in stack.capture_queues}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["X-Pps-Sub-Topic", "X-Pps-Triggered-At"])
def test_a_2_kb_optional_header_is_delivered_as_it_came(
    fmt: Format, name: str, sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    value = "product:adv/" + "é€😀-" * 200  # 2,012 bytes of UTF-8
    headers = {**pps_headers(token()), name: value}

    response = sandbox.invoke(api_event(fmt, headers))

    assert response.status == 200
    (message,) = stack.published("OrdersPlacedTopic")
    assert message.attributes[name] == value


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["X-Pps-Sub-Topic", "X-Pps-Triggered-At", "X-Pps-Webhook-Id", "X-Pps-Tenant-Id"])
@pytest.mark.parametrize("character", ["\x01", "\x1b", "\ufffe", "\udc80"], ids=["soh", "esc", "fffe", "surrogate"])
def test_a_header_sns_cannot_carry_is_a_400_not_an_endless_500(
    fmt: Format, name: str, character: str, sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    headers = pps_headers(token())
    headers[name] = headers.get(name, "value") + character

    response = sandbox.invoke(api_event(fmt, headers))

    assert response.status == 400
    assert response.body["problems"] == [f"header {name} has characters SNS cannot carry"]
    assert nothing_written(stack)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_body_string_that_cannot_be_encoded_is_a_400(
    fmt: Format, sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    response = sandbox.invoke(api_event(fmt, pps_headers(token()), '{"orderId":"ORD-1","note":"\udc80"}'))

    assert response.status == 400
    assert response.body["problems"] == ["body is not UTF-8 text"]
    assert nothing_written(stack)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["X-Pps-Webhook-Id", "X-Pps-Tenant-Id", "X-Pps-Topic"])
def test_an_id_given_twice_is_a_400_on_both_fronts(
    fmt: Format, name: str, sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    """Otherwise the REST front would take the last value and the HTTP front "first,last": two record keys."""
    headers = pps_headers(token())
    event = repeated(fmt, api_event(fmt, headers), name, ["first", headers[name]])

    response = sandbox.invoke(event)

    assert response.status == 400
    assert response.body["problems"] == [f"header {name} has more than one value"]
    assert nothing_written(stack)


@pytest.mark.parametrize("name", ["X-Pps-Sub-Topic", "X-Pps-Triggered-At"])
def test_an_optional_header_given_twice_is_delivered_the_same_from_both_fronts(
    name: str, sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    delivered = []
    for fmt in FORMATS:
        event = repeated(fmt, api_event(fmt, pps_headers(token())), name, ["product:adv/adv-120", "product:cdv/x"])
        assert sandbox.invoke(event).status == 200
        (message,) = stack.published("OrdersPlacedTopic")
        delivered.append(message.attributes[name])

    assert delivered == ["product:adv/adv-120,product:cdv/x"] * 2


@pytest.mark.parametrize("character", ["é", "%", "😀", "/"], ids=["accent", "percent", "emoji", "slash"])
def test_the_longest_ids_give_a_valid_s3_key_and_a_readable_offloaded_body(
    character: str, sandbox: Sandbox, stack: Deployment, token: Callable[..., str], aws_proxy: AwsProxy
) -> None:
    # Given ids at the 512-byte bound, whose percent-encoding would triple them, and a body too large for SNS
    longest = character * (512 // len(character.encode()))
    headers = pps_headers(token(), tenant_id=longest, webhook_id=longest)
    body = json.dumps({"orderId": "ORD-BIG", "blob": "x" * 300_000})

    response = sandbox.invoke(api_event("http", headers, body))

    # Then S3 got a key within its 1,024 bytes (a longer one fails on every retry: an endless 500)
    assert response.status == 200
    (key,) = stack.payload_keys()
    assert len(key.encode()) <= 1024
    # And a subscriber reads the body back through the pointer
    (message,) = stack.published("OrdersPlacedTopic")
    record = {
        "body": message.message,
        "messageAttributes": {name: {"stringValue": value} for name, value in message.attributes.items()},
    }
    webhook = read_delivery(record, PayloadStore(lambda: stack.client("s3")))
    assert webhook.raw_body == body
    assert webhook.webhook_id == longest


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_body_with_control_characters_is_delivered_through_s3(
    fmt: Format, sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    """SNS and SQS refuse such text; S3 takes any bytes, so the body still reaches every subscriber intact."""
    body = ORDER_BODY[:-1] + ',"raw":"\x00\x07\x1f"}'
    headers = pps_headers(token())

    response = sandbox.invoke(api_event(fmt, headers, body, base64_body=fmt == "rest"))

    assert response.status == 200
    (message,) = stack.published("OrdersPlacedTopic")
    assert "ExtendedPayloadSize" in message.attributes
    assert stack.payload(json.loads(message.message)[1]["s3Key"]) == body.encode()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("trust", [{"PPS_ALLOWED_TENANTS": "OU1243"}, {"PPS_TENANT_CLAIM": "tenant"}])
def test_a_tenant_given_twice_is_a_400_whatever_the_tenant_rules(
    fmt: Format,
    trust: dict[str, str],
    new_sandbox: Callable[..., Sandbox],
    stack: Deployment,
    token: Callable[..., str],
) -> None:
    headers = pps_headers(token(claims={"tenant": "OU1243"}))
    event = repeated(fmt, api_event(fmt, headers), "X-Pps-Tenant-Id", ["OU1243", "OU1243"])

    response = new_sandbox(**trust).invoke(event)

    assert response.status == 400
    assert response.body["problems"] == ["header X-Pps-Tenant-Id has more than one value"]
    assert nothing_written(stack)
