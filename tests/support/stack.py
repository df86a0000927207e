"""The template's stack in a fresh moto (tools.devkit.stack), plus what tests read back from it.

Each topic also gets a capture queue (enveloped delivery), so tests see exactly what any subscriber receives.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from tests.support.receiver import RECEIVER
from tools.devkit import stack
from tools.devkit.cloudformation import create_stack, subscribe
from tools.devkit.emulator import STACK_NAME
from tools.devkit.template import load_template


@dataclass(frozen=True)
class Message:
    """One SNS message as a subscriber receives it."""

    message: str
    attributes: dict[str, str]
    attribute_types: dict[str, str]


@dataclass
class Deployment(stack.Deployment):
    capture_queues: dict[str, str] = field(default_factory=dict)

    def environment(self, function: str = RECEIVER) -> dict[str, str]:
        return super().environment(function)

    def published(self, topic: str) -> list[Message]:
        """Every message delivered to `topic` (a logical id) since the last call."""
        sqs = self.client("sqs")
        found: list[Message] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.capture_queues[topic], MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                envelope = json.loads(message["Body"])
                attributes = envelope.get("MessageAttributes", {})
                found.append(
                    Message(
                        message=envelope["Message"],
                        attributes={name: value["Value"] for name, value in attributes.items()},
                        attribute_types={name: value["Type"] for name, value in attributes.items()},
                    )
                )
                sqs.delete_message(QueueUrl=self.capture_queues[topic], ReceiptHandle=message["ReceiptHandle"])

    def all_published(self) -> dict[str, list[Message]]:
        return {topic: self.published(topic) for topic in self.capture_queues}

    def items(self, table: str) -> list[dict[str, Any]]:
        deserializer = TypeDeserializer()
        items = self.client("dynamodb").scan(TableName=self.refs[table], ConsistentRead=True)["Items"]
        return [{name: deserializer.deserialize(value) for name, value in item.items()} for item in items]

    def records(self) -> list[dict[str, Any]]:
        """Every item in the idempotency table."""
        return self.items("IdempotencyTable")

    def payload(self, key: str) -> bytes:
        body: bytes = self.client("s3").get_object(Bucket=self.refs["PayloadBucket"], Key=key)["Body"].read()
        return body

    def payload_keys(self) -> list[str]:
        listing = self.client("s3").list_objects_v2(Bucket=self.refs["PayloadBucket"])
        return [entry["Key"] for entry in listing.get("Contents", [])]

    def queue_depth(self, queue: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.refs[queue], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])


def reset_moto(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def deploy(endpoint: str, parameters: dict[str, str] | None = None) -> Deployment:
    """A fresh moto with the template's stack (as tools.devkit.stack.deploy creates it), and a capture queue on
    every topic."""
    reset_moto(endpoint)
    deployment = create_stack(Deployment, endpoint, load_template(), parameters or {}, STACK_NAME)
    sns, sqs = deployment.client("sns"), deployment.client("sqs")
    for name in deployment.of_type("AWS::SNS::Topic"):
        queue_url = sqs.create_queue(QueueName=f"capture-{name}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        subscribe(sns, deployment.refs[name], "sqs", queue_arn)
        deployment.capture_queues[name] = queue_url
    return deployment
