"""The consumers of a deployed stack, as the operator commands name them: each Lambda function fed by an SQS event
source mapping of the stack, with its mapping, its queue and that queue's dead-letter queue.

Read from the stack's resources and the live AWS APIs (never from template.yaml), so a consumer added with
`make consumer` and deployed is found without any change here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"
FUNCTION_TYPE = "AWS::Lambda::Function"
PAUSED_STATES = frozenset({"Disabled", "Disabling"})


@dataclass(frozen=True)
class Consumer:
    logical_id: str
    """The function's logical id in the stack (OrdersPlacedFunction)."""
    function_name: str
    """Its physical name (pps-webhooks-OrdersPlacedFunction-1A2B3C)."""
    mapping_id: str
    """The event source mapping's UUID."""
    mapping_logical_id: str
    queue_arn: str
    queue_url: str
    dead_letter_arn: str | None
    dead_letter_url: str | None
    state: str
    """The mapping's State as Lambda reports it: Enabled, Disabled, or Enabling/Disabling/Updating/Creating."""
    maximum_concurrency: int | None

    @property
    def paused(self) -> bool:
        return self.state in PAUSED_STATES

    @property
    def names(self) -> tuple[str, str]:
        return (self.logical_id, self.function_name)


class UnknownConsumer(LookupError):
    pass


def stack_resources(cloudformation: Any, stack: str) -> list[dict[str, Any]]:
    """Every resource summary of the stack (ListStackResources, all pages)."""
    found: list[dict[str, Any]] = []
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
        found.extend(page.get("StackResourceSummaries", []))
    return found


def consumers(cloudformation: Any, aws_lambda: Any, sqs: Any, stack: str) -> list[Consumer]:
    """The stack's consumers, sorted by logical id, with their mappings' state as of now."""
    resources = stack_resources(cloudformation, stack)
    functions = {
        str(resource.get("PhysicalResourceId")): str(resource["LogicalResourceId"])
        for resource in resources
        if resource.get("ResourceType") == FUNCTION_TYPE
    }
    found = []
    for resource in resources:
        if resource.get("ResourceType") != MAPPING_TYPE or not resource.get("PhysicalResourceId"):
            continue
        mapping = aws_lambda.get_event_source_mapping(UUID=resource["PhysicalResourceId"])
        source = str(mapping.get("EventSourceArn", ""))
        if not source.startswith("arn:aws:sqs:"):
            continue
        function_name = str(mapping["FunctionArn"]).split(":")[6]
        queue_url = _queue_url(sqs, source)
        dead_letter_arn = _dead_letter_arn(sqs, queue_url)
        found.append(
            Consumer(
                logical_id=functions.get(function_name, function_name),
                function_name=function_name,
                mapping_id=str(mapping["UUID"]),
                mapping_logical_id=str(resource["LogicalResourceId"]),
                queue_arn=source,
                queue_url=queue_url,
                dead_letter_arn=dead_letter_arn,
                dead_letter_url=_queue_url(sqs, dead_letter_arn) if dead_letter_arn else None,
                state=str(mapping.get("State", "")),
                maximum_concurrency=(mapping.get("ScalingConfig") or {}).get("MaximumConcurrency"),
            )
        )
    return sorted(found, key=lambda consumer: consumer.logical_id)


def named(found: Sequence[Consumer], name: str) -> list[Consumer]:
    """The consumers `name` stands for: a function's logical id or physical name (a function fed by two queues has
    two). UnknownConsumer, listing the known names, when none matches."""
    matching = [consumer for consumer in found if name in consumer.names]
    if not matching:
        known = ", ".join(sorted({consumer.logical_id for consumer in found})) or "none"
        raise UnknownConsumer(f"no consumer is called {name!r}; the stack's consumers: {known}")
    return matching


def queue_name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def _queue_url(sqs: Any, arn: str) -> str:
    parts = arn.split(":")
    return str(sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"])


def _dead_letter_arn(sqs: Any, queue_url: str) -> str | None:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
    policy = json.loads(attributes.get("RedrivePolicy") or "{}")
    target = policy.get("deadLetterTargetArn")
    return str(target) if target else None
