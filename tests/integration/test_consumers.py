"""The example consumers against a real OrdersTable: at-least-once, out-of-order deliveries end right,
a bad message never blocks the good ones, offloads resolve transparently."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from pps_webhooks.offload import pointer_message
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment
from tools.devkit.events import pps_headers, queue_event, topic_event


@pytest.fixture
def placed(new_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return new_sandbox("OrdersPlacedFunction")


@pytest.fixture
def updated(new_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return new_sandbox("OrdersUpdatedFunction")


def delivery(topic: str, body: dict[str, Any] | str, triggered_at: str | None) -> dict[str, Any]:
    headers = pps_headers(topic=topic, webhook_id=str(uuid.uuid4()), triggered_at=triggered_at)
    text = body if isinstance(body, str) else json.dumps(body)
    return queue_event("Queue", headers, text, str(uuid.uuid4()))


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


def test_a_offloaded_body_is_read_from_s3_transparently(placed: Sandbox, stack: Deployment) -> None:
    body = json.dumps({"orderId": "A-8", "status": "placed", "notes": "x" * 300_000})
    key = "payloads/OU1243/big"
    stack.client("s3").put_object(Bucket=stack.refs["PayloadBucket"], Key=key, Body=body.encode())
    headers = pps_headers(topic="orders/placed", webhook_id="big", triggered_at="2024-01-01T00:00:00Z")
    event = queue_event("Queue", headers, pointer_message(stack.refs["PayloadBucket"], key), "m-1")
    event["Records"][0]["messageAttributes"]["ExtendedPayloadSize"] = {
        "stringValue": str(len(body)),
        "dataType": "Number",
    }

    assert placed.handle(event) == {"batchItemFailures": []}
    assert len(order(stack, "A-8")["notes"]) == 300_000


def test_sns_events_and_enveloped_sqs_messages_are_read_the_same_way(placed: Sandbox, stack: Deployment) -> None:
    headers = pps_headers(topic="orders/placed", webhook_id="w-1", triggered_at="2024-01-01T00:00:00Z")
    placed.handle(topic_event("Topic", headers, json.dumps({"orderId": "A-9", "status": "via-sns"}), "m-2"))
    envelope = {
        "Type": "Notification",
        "Message": json.dumps({"orderId": "A-10", "status": "via-envelope"}),
        "MessageAttributes": {name: {"Type": "String", "Value": value} for name, value in headers.items()},
    }
    enveloped = queue_event("Queue", {}, json.dumps(envelope), "m-3")

    assert placed.handle(enveloped) == {"batchItemFailures": []}
    assert order(stack, "A-9")["status"] == "via-sns"
    assert order(stack, "A-10")["status"] == "via-envelope"


def test_a_failing_sns_delivery_raises_so_lambda_retries_it(placed: Sandbox) -> None:
    headers = pps_headers(topic="orders/placed", webhook_id="w-2", triggered_at="2024-01-01T00:00:00Z")
    with pytest.raises(ValueError, match="orderId"):
        placed.handle(topic_event("Topic", headers, json.dumps({"status": "no id"}), "m-4"))


def test_a_placed_order_with_an_unreadable_triggered_at_is_stored_not_parked(
    placed: Sandbox, updated: Sandbox, stack: Deployment
) -> None:
    """Only updates need X-Pps-Triggered-At to order them; a placed order keeps it as it came."""
    result = placed.handle(delivery("orders/placed", {"orderId": "A-9", "status": "placed"}, "next tuesday"))

    assert result == {"batchItemFailures": []}
    item = order(stack, "A-9")
    assert (item["status"], item["placedAt"], item["lastEventAt"]) == ("placed", "next tuesday", "next tuesday")
    # And any readable update applies after it
    updated.handle(delivery("orders/updated", {"orderId": "A-9", "status": "shipped"}, "2024-01-02T00:00:00Z"))
    assert order(stack, "A-9")["status"] == "shipped"


def wide_body(order_id: str, fields: int, value: str) -> dict[str, Any]:
    return {"orderId": order_id, **{f"attribute_with_a_long_name_{index:04d}": value for index in range(fields)}}


class ExpressionRecorder:
    """Every UpdateExpression sent to DynamoDB, as DynamoDB receives it."""

    def __init__(self, client: Any) -> None:
        self.expressions: list[str] = []
        client.meta.events.register("provide-client-params.dynamodb.UpdateItem", self._record)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.expressions.append(params["UpdateExpression"] + params.get("ConditionExpression", ""))


@pytest.mark.parametrize("fields", [150, 400])
def test_an_order_with_hundreds_of_fields_is_stored_whole_within_dynamodbs_expression_limits(
    fields: int, placed: Sandbox, updated: Sandbox, stack: Deployment
) -> None:
    placed_expressions = ExpressionRecorder(placed.module.orders._client)
    updated_expressions = ExpressionRecorder(updated.module.orders._client)

    placed_result = placed.handle(delivery("orders/placed", wide_body("W-1", fields, "placed"), "2024-01-01T00:00:00Z"))
    updated_result = updated.handle(
        delivery("orders/updated", wide_body("W-1", fields, "shipped"), "2024-01-02T00:00:00Z")
    )

    assert placed_result == updated_result == {"batchItemFailures": []}
    item = order(stack, "W-1")
    stored = {name: value for name, value in item.items() if name.startswith("attribute_")}
    assert stored == {name: "shipped" for name in wide_body("W-1", fields, "") if name != "orderId"}
    assert "partialWebhookId" not in item
    for recorder in (placed_expressions, updated_expressions):
        assert len(recorder.expressions) > 1  # several updates, each within DynamoDB's 4 KB
        assert max(len(expression.encode()) for expression in recorder.expressions) <= 4096


def test_a_stale_or_repeated_wide_update_changes_nothing(updated: Sandbox, stack: Deployment) -> None:
    newest = delivery("orders/updated", wide_body("W-2", 300, "newest"), "2024-01-03T00:00:00Z")
    updated.handle(newest)
    updated.handle(delivery("orders/updated", wide_body("W-2", 300, "stale"), "2024-01-02T00:00:00Z"))
    updated.handle(newest)  # SNS delivered it twice

    item = order(stack, "W-2")
    assert {value for name, value in item.items() if name.startswith("attribute_")} == {"newest"}
    assert item["lastEventAt"] == "2024-01-03T00:00:00Z"


class FailsOnce:
    """The table's DynamoDB client, failing the `at`-th UpdateItem (a throttle, a lost connection)."""

    def __init__(self, client: Any, at: int) -> None:
        self._client, self._at, self.calls = client, at, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **params: Any) -> Any:
        self.calls += 1
        if self.calls == self._at:
            raise ConnectionError("connection lost mid-write")
        return self._client.update_item(**params)


def test_a_wide_update_interrupted_midway_is_completed_by_its_redelivery(updated: Sandbox, stack: Deployment) -> None:
    updated.handle(delivery("orders/updated", wide_body("W-3", 300, "old"), "2024-01-01T00:00:00Z"))
    update = delivery("orders/updated", wide_body("W-3", 300, "new"), "2024-01-02T00:00:00Z")
    orders = updated.module.orders
    real = orders._client
    orders._client = FailsOnce(real, at=2)

    # When the write fails after its first part: the invocation fails, so SQS redelivers the message
    with pytest.raises(BatchProcessingError):
        updated.handle(update)
    assert {value for name, value in order(stack, "W-3").items() if name.startswith("attribute_")} == {"old", "new"}

    # Then the redelivery completes it
    orders._client = real
    assert updated.handle(update) == {"batchItemFailures": []}
    item = order(stack, "W-3")
    assert {value for name, value in item.items() if name.startswith("attribute_")} == {"new"}
    assert "partialWebhookId" not in item
