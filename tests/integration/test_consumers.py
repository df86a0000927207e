"""The example consumers against a real OrdersTable: at-least-once, out-of-order deliveries end right,
a bad message never blocks the good ones, claim checks resolve transparently."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from local.events import pps_headers, sns_event, sqs_event
from pps_webhooks.claim_check import pointer_message
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment


@pytest.fixture
def placed(new_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return new_sandbox("OrdersPlacedFunction")


@pytest.fixture
def updated(new_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return new_sandbox("OrdersUpdatedFunction")


def delivery(topic: str, body: dict[str, Any] | str, triggered_at: str | None) -> dict[str, Any]:
    headers = pps_headers(topic, str(uuid.uuid4()), triggered_at or "")
    if triggered_at is None:
        headers.pop("X-Pps-Triggered-At")
    text = body if isinstance(body, str) else json.dumps(body)
    return sqs_event("Queue", headers, text, str(uuid.uuid4()))


def batch(*deliveries: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [record for event in deliveries for record in event["Records"]]}


def order(stack: Deployment, order_id: str) -> dict[str, Any]:
    (item,) = [item for item in stack.items("OrdersTable") if item["orderId"] == order_id]
    return item


def test_a_placed_order_is_created_with_its_fields_and_bookkeeping(placed: Sandbox, stack: Deployment) -> None:
    result = placed.handle(
        delivery(
            "orders/placed",
            {"orderId": "A-1", "status": "placed", "qty": 2, "price": 9.5},
            "2024-01-1T10:00:00.7777748Z",
        )
    )

    assert result == {"batchItemFailures": []}
    item = order(stack, "A-1")
    assert item["tenantId"] == "OU1243"
    assert (item["status"], item["qty"], str(item["price"])) == ("placed", 2, "9.5")
    assert item["placedAt"] == item["lastEventAt"] == "2024-01-1T10:00:00.7777748Z"


def test_an_update_applies_only_when_newer_than_what_is_stored(
    placed: Sandbox, updated: Sandbox, stack: Deployment
) -> None:
    placed.handle(delivery("orders/placed", {"orderId": "A-2", "status": "placed"}, "2024-01-01T10:00:00Z"))
    updated.handle(delivery("orders/updated", {"orderId": "A-2", "status": "shipped"}, "2024-01-03T10:00:00Z"))
    # A stale update (delivered late) and a repeat change nothing
    updated.handle(delivery("orders/updated", {"orderId": "A-2", "status": "packed"}, "2024-01-02T10:00:00Z"))
    updated.handle(delivery("orders/updated", {"orderId": "A-2", "status": "repeat"}, "2024-01-03T10:00:00Z"))

    assert order(stack, "A-2")["status"] == "shipped"


def test_timestamps_100_nanoseconds_apart_are_ordered_exactly(updated: Sandbox, stack: Deployment) -> None:
    updated.handle(delivery("orders/updated", {"orderId": "A-3", "status": "second"}, "2024-01-1T10:00:00.7777749Z"))
    updated.handle(delivery("orders/updated", {"orderId": "A-3", "status": "first"}, "2024-01-1T10:00:00.7777748Z"))

    assert order(stack, "A-3")["status"] == "second"


def test_an_update_that_arrives_before_its_order_is_kept_when_the_order_arrives(
    placed: Sandbox, updated: Sandbox, stack: Deployment
) -> None:
    updated.handle(delivery("orders/updated", {"orderId": "A-4", "status": "shipped"}, "2024-01-02T00:00:00Z"))
    placed.handle(delivery("orders/placed", {"orderId": "A-4", "status": "placed", "qty": 3}, "2024-01-01T00:00:00Z"))

    item = order(stack, "A-4")
    assert (item["status"], item["qty"], item["placedAt"]) == ("shipped", 3, "2024-01-01T00:00:00Z")
    assert item["lastEventAt"] == "2024-01-02T00:00:00Z"


def test_a_repeated_placed_delivery_changes_nothing(placed: Sandbox, stack: Deployment) -> None:
    event = delivery("orders/placed", {"orderId": "A-5", "status": "placed"}, "2024-01-01T00:00:00Z")
    placed.handle(event)
    first = order(stack, "A-5")
    placed.handle(event)

    assert order(stack, "A-5") == first


@pytest.mark.parametrize(
    ("body", "triggered_at"),
    [
        ("not json at all", "2024-01-01T00:00:00Z"),
        ({"status": "no order id"}, "2024-01-01T00:00:00Z"),
        ({"orderId": "A-6", "status": "x"}, None),
        ({"orderId": "A-6", "status": "x"}, "yesterday"),
    ],
)
def test_a_bad_message_fails_alone_and_the_good_ones_in_its_batch_complete(
    body: dict[str, Any] | str, triggered_at: str | None, updated: Sandbox, stack: Deployment
) -> None:
    good = delivery("orders/updated", {"orderId": "A-7", "status": "fine"}, "2024-01-01T00:00:00Z")
    bad = delivery("orders/updated", body, triggered_at)

    result = updated.handle(batch(good, bad))

    assert result == {"batchItemFailures": [{"itemIdentifier": bad["Records"][0]["messageId"]}]}
    assert order(stack, "A-7")["status"] == "fine"


def test_a_claim_checked_body_is_read_from_s3_transparently(placed: Sandbox, stack: Deployment) -> None:
    body = json.dumps({"orderId": "A-8", "status": "placed", "notes": "x" * 300_000})
    key = "payloads/OU1243/big"
    stack.client("s3").put_object(Bucket=stack.refs["PayloadBucket"], Key=key, Body=body.encode())
    headers = pps_headers("orders/placed", "big", "2024-01-01T00:00:00Z")
    event = sqs_event("Queue", headers, pointer_message(stack.refs["PayloadBucket"], key), "m-1")
    event["Records"][0]["messageAttributes"]["ExtendedPayloadSize"] = {
        "stringValue": str(len(body)),
        "dataType": "Number",
    }

    assert placed.handle(event) == {"batchItemFailures": []}
    assert len(order(stack, "A-8")["notes"]) == 300_000


def test_sns_events_and_enveloped_sqs_messages_are_read_the_same_way(placed: Sandbox, stack: Deployment) -> None:
    headers = pps_headers("orders/placed", "w-1", "2024-01-01T00:00:00Z")
    placed.handle(sns_event("Topic", headers, json.dumps({"orderId": "A-9", "status": "via-sns"}), "m-2"))
    envelope = {
        "Type": "Notification",
        "Message": json.dumps({"orderId": "A-10", "status": "via-envelope"}),
        "MessageAttributes": {name: {"Type": "String", "Value": value} for name, value in headers.items()},
    }
    enveloped = sqs_event("Queue", {}, json.dumps(envelope), "m-3")

    assert placed.handle(enveloped) == {"batchItemFailures": []}
    assert order(stack, "A-9")["status"] == "via-sns"
    assert order(stack, "A-10")["status"] == "via-envelope"


def test_a_failing_sns_delivery_raises_so_lambda_retries_it(placed: Sandbox) -> None:
    headers = pps_headers("orders/placed", "w-2", "2024-01-01T00:00:00Z")
    with pytest.raises(ValueError, match="orderId"):
        placed.handle(sns_event("Topic", headers, json.dumps({"status": "no id"}), "m-4"))
