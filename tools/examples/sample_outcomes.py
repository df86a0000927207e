"""The outcome the README documents for each sample in events/, checked in moto after the sample was invoked.

Replayed in the README's order, each sample's outcome depends on those before it: the duplicate on the first
webhook, the consumers' "nothing changes" on the order the earlier ones stored. What is checked is what the
function did (its answer, what reached a subscriber's queue, the records and the order stored), never how.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tools.devkit.cloudformation import subscribe
from tools.devkit.paths import EVENTS
from tools.devkit.samples import PLACED_ID, UPDATED_ID, Sample
from tools.devkit.stack import Deployment
from tools.examples.orders import read_orders

ORDER = ("OU1243", "ORD-1001")


class NotAsDocumented(Exception):
    pass


def expect(condition: bool, problem: str) -> None:
    if not condition:
        raise NotAsDocumented(problem)


class SampleOutcomes:
    def __init__(self, deployment: Deployment, subscribers: Mapping[str, str]) -> None:
        """`subscribers`: topic logical id -> URL of a queue subscribed to it with raw delivery."""
        self._refs = deployment.refs
        self._sqs = deployment.client("sqs")
        self._dynamodb = deployment.client("dynamodb")
        self._subscribers = dict(subscribers)
        self._records = 0
        self._order: dict[str, Any] | None = None

    @classmethod
    def watching(cls, deployment: Deployment) -> SampleOutcomes:
        """Reads each topic through a subscriber: the consumers' own queues (raw delivery, from the template), and
        for UnroutedTopic, to which the template subscribes nothing, a queue as an operator would subscribe."""
        sqs = deployment.client("sqs")
        reader: str = sqs.create_queue(QueueName="UnroutedReader")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=reader, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        subscribe(deployment.client("sns"), deployment.refs["UnroutedTopic"], "sqs", arn, {"RawMessageDelivery": True})
        return cls(
            deployment,
            {
                "OrdersPlacedTopic": deployment.refs["OrdersPlacedQueue"],
                "OrdersUpdatedTopic": deployment.refs["OrdersUpdatedQueue"],
                "UnroutedTopic": reader,
            },
        )

    def check(self, sample: Sample, result: Any) -> None:
        """Raises NotAsDocumented, saying what differs."""
        event = json.loads((EVENTS / sample.file).read_text())
        match sample.file:
            case "http-api-orders-placed.json" | "rest-api-orders-placed.json":
                self._accepted(event, result, "OrdersPlacedTopic")
            case "http-api-orders-updated.json":
                self._accepted(event, result, "OrdersUpdatedTopic")
            case "http-api-unknown-topic.json":
                self._accepted(event, result, "UnroutedTopic")
            case "http-api-duplicate.json":
                self._answered(result, 200, "duplicate")
                self._nothing_written()
            case "http-api-bad-token.json":
                self._answered(result, 403)
                self._nothing_written()
            case "sqs-orders-placed.json":
                self._order_is(result, sqs=True, status="placed", last_webhook_id=PLACED_ID, changed=True)
            case "sqs-orders-updated.json":
                self._order_is(result, sqs=True, status="shipped", last_webhook_id=UPDATED_ID, changed=True)
            case "sns-orders-placed.json" | "sns-orders-updated.json":
                self._order_is(result, sqs=False, status="shipped", last_webhook_id=UPDATED_ID, changed=False)
            case _:
                raise NotAsDocumented(f"no documented outcome for {sample.file}")

    def _accepted(self, event: Mapping[str, Any], result: Any, topic: str) -> None:
        webhook_id = _header(event, "X-Pps-Webhook-Id")
        body = self._answered(result, 200, "accepted")
        expect(body.get("webhookId") == webhook_id, f"answered for webhook {body.get('webhookId')}")
        published = self._published()
        counts = {name: len(messages) for name, messages in published.items()}
        expect(counts == {name: int(name == topic) for name in counts}, f"published: {counts}")
        (message,) = published[topic]
        expect(message["Body"] == event["body"], "the body published is not the body received")
        attributes = {name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()}
        expect(attributes.get("X-Pps-Webhook-Id") == webhook_id, f"published with attributes {attributes}")
        expect(self._new_records() == 1, "the webhook id was not recorded once")

    def _answered(self, result: Any, status: int, outcome: str | None = None) -> dict[str, Any]:
        expect(isinstance(result, dict) and "statusCode" in result, "not an API Gateway response")
        body: dict[str, Any] = json.loads(result["body"])
        expect(result["statusCode"] == status, f"status {result['statusCode']}: {body}")
        expect(outcome is None or body.get("status") == outcome, f"answered {body}")
        return body

    def _nothing_written(self) -> None:
        counts = {name: len(messages) for name, messages in self._published().items()}
        expect(not any(counts.values()), f"published: {counts}")
        expect(self._new_records() == 0, "a webhook id was recorded")

    def _order_is(self, result: Any, *, sqs: bool, status: str, last_webhook_id: str, changed: bool) -> None:
        # SQS: a partial batch response without failures. SNS: a failure raises (errorType), success answers {}.
        expected: dict[str, Any] = {"batchItemFailures": []} if sqs else {}
        expect(result == expected, f"answered {result}, not {expected}")
        orders = read_orders(self._dynamodb, self._refs["OrdersTable"])
        matching = [item for item in orders if (item.get("tenantId"), item.get("orderId")) == ORDER]
        expect(len(matching) == 1, f"no order {'/'.join(ORDER)} in OrdersTable")
        order = matching[0]
        found = (order.get("status"), order.get("lastWebhookId"))
        expect(found == (status, last_webhook_id), f"order status, last webhook id: {found}")
        expect((order != self._order) == changed, "the order changed" if not changed else "the order did not change")
        self._order = order

    def _published(self) -> dict[str, list[dict[str, Any]]]:
        """What reached each topic's subscriber since the last call."""
        found: dict[str, list[dict[str, Any]]] = {}
        for topic, queue in self._subscribers.items():
            messages = self._sqs.receive_message(
                QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            for message in messages:
                self._sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            found[topic] = list(messages)
        return found

    def _new_records(self) -> int:
        """Webhook ids recorded since the last call."""
        count = self._dynamodb.scan(TableName=self._refs["IdempotencyTable"], Select="COUNT", ConsistentRead=True)
        added: int = count["Count"] - self._records
        self._records = count["Count"]
        return added


def _header(event: Mapping[str, Any], name: str) -> str:
    return next(str(value) for key, value in event["headers"].items() if key.lower() == name.lower())
