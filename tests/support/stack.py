"""The template's resources, created in a moto server, and what tests read back from them.

Tables, topics and the bucket are made from their definitions in template.yaml, and the receiver's
environment is the template's own, resolved against them: tests and template cannot drift apart.
Each topic gets an SQS queue subscribed to it, so tests see exactly what a subscriber receives.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

from tests.support.template import Resolver, load_template, resources_of_type

REGION = "us-east-1"
ACCOUNT = "123456789012"
RECEIVER = "WebhookReceiverFunction"


@dataclass(frozen=True)
class Published:
    """One SNS message as a subscriber receives it."""

    message: str
    attributes: dict[str, str]
    attribute_types: dict[str, str]


@dataclass
class Deployment:
    endpoint: str
    refs: dict[str, str]
    parameters: dict[str, str]
    capture_queues: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)  # type: ignore[call-overload]

    def environment(self, function: str = RECEIVER) -> dict[str, str]:
        """The function's environment as CloudFormation would set it (Globals first)."""
        template = load_template()
        resolver = Resolver(template, refs=self.refs, attributes=self._attributes(), parameters=self.parameters)
        variables = {
            **template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
            **template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {}),
        }
        return {name: str(value) for name, value in resolver.resolve(variables).items()}

    def published(self, topic: str) -> list[Published]:
        """Every message delivered to `topic` (a logical id) since the last call."""
        sqs = self.client("sqs")
        found: list[Published] = []
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
                    Published(
                        message=envelope["Message"],
                        attributes={name: value["Value"] for name, value in attributes.items()},
                        attribute_types={name: value["Type"] for name, value in attributes.items()},
                    )
                )
                sqs.delete_message(QueueUrl=self.capture_queues[topic], ReceiptHandle=message["ReceiptHandle"])

    def all_published(self) -> dict[str, list[Published]]:
        return {topic: self.published(topic) for topic in self.capture_queues}

    def claims(self) -> list[dict[str, Any]]:
        """Every item in the idempotency table."""
        deserializer = TypeDeserializer()
        items = self.client("dynamodb").scan(TableName=self.refs["IdempotencyTable"], ConsistentRead=True)["Items"]
        return [{name: deserializer.deserialize(value) for name, value in item.items()} for item in items]

    def payload(self, key: str) -> bytes:
        body: bytes = self.client("s3").get_object(Bucket=self.refs["PayloadBucket"], Key=key)["Body"].read()
        return body

    def payload_keys(self) -> list[str]:
        listing = self.client("s3").list_objects_v2(Bucket=self.refs["PayloadBucket"])
        return [entry["Key"] for entry in listing.get("Contents", [])]

    def _attributes(self) -> dict[str, str]:
        attributes: dict[str, str] = {}
        for name, value in self.refs.items():
            if value.startswith("arn:aws:sns:"):
                attributes[f"{name}.TopicName"] = value.rsplit(":", 1)[1]
                attributes[f"{name}.Arn"] = value
            elif name in self._of_type("AWS::DynamoDB::Table"):
                attributes[f"{name}.Arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{value}"
            elif name in self._of_type("AWS::S3::Bucket"):
                attributes[f"{name}.Arn"] = f"arn:aws:s3:::{value}"
        return attributes

    @staticmethod
    def _of_type(resource_type: str) -> set[str]:
        return set(resources_of_type(load_template(), resource_type))


def reset_moto(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def deploy(endpoint: str, parameters: dict[str, str] | None = None) -> Deployment:
    """Create the template's tables, topics and buckets (named by logical id) in a fresh moto."""
    reset_moto(endpoint)
    template = load_template()
    deployment = Deployment(endpoint=endpoint, refs={}, parameters=dict(parameters or {}))
    dynamodb, sns, s3, sqs = (deployment.client(name) for name in ("dynamodb", "sns", "s3", "sqs"))

    for name, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        dynamodb.create_table(
            TableName=name,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props["BillingMode"],
        )
        if "TimeToLiveSpecification" in props:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
        deployment.refs[name] = name

    for name in resources_of_type(template, "AWS::SNS::Topic"):
        topic_arn = sns.create_topic(Name=name)["TopicArn"]
        deployment.refs[name] = topic_arn
        queue_url = sqs.create_queue(QueueName=f"capture-{name}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        deployment.capture_queues[name] = queue_url

    for name in resources_of_type(template, "AWS::S3::Bucket"):
        bucket = f"{name.lower()}-{ACCOUNT}"
        s3.create_bucket(Bucket=bucket)
        deployment.refs[name] = bucket

    return deployment
