"""Where a replay sends: one SQS queue (as raw SNS delivery would) or one Lambda function (as SNS would invoke it)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.aws import LambdaInvoker, reason_of
from pps_ops.lambda_events import sns_event
from pps_ops.offload import SIZE_ATTRIBUTE
from pps_ops.replay.archive import Notification
from pps_ops.sqs_batches import SQS_BATCH_ENTRIES, send_all

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, SendMessageBatchRequestEntryTypeDef


class Target(Protocol):
    @property
    def description(self) -> str: ...

    @property
    def batch_size(self) -> int:
        """How many notifications one send call takes at most."""
        ...

    def subscribed_by(self, endpoint: str) -> bool:
        """Whether an SNS subscription endpoint is this target."""
        ...

    def deliver(self, notifications: Sequence[Notification], subscriptions: Mapping[str, str]) -> Iterator[str | None]:
        """One result per notification, in order: None when delivered, else why not.
        `subscriptions`: topic ARN -> this target's subscription ARN."""
        ...


def queue_attributes(notification: Notification) -> dict[str, MessageAttributeValueTypeDef]:
    """The message attributes raw delivery gives an SQS subscriber: X-Pps-* and ExtendedPayloadSize, typed."""
    attributes: dict[str, MessageAttributeValueTypeDef] = {}
    for name, value in notification.attributes.items():
        if not (name.startswith("X-Pps-") or name == SIZE_ATTRIBUTE):
            continue
        data_type = value.get("Type", "String")
        if data_type == "Binary":  # SNS notifications carry binary values base64-encoded
            attributes[name] = {"DataType": data_type, "BinaryValue": base64.b64decode(value.get("Value", ""))}
        else:
            attributes[name] = {"DataType": data_type, "StringValue": value.get("Value", "")}
    return attributes


def queue_entry(entry_id: str, notification: Notification) -> SendMessageBatchRequestEntryTypeDef:
    entry: SendMessageBatchRequestEntryTypeDef = {"Id": entry_id, "MessageBody": notification.envelope["Message"]}
    attributes = queue_attributes(notification)
    if attributes:
        entry["MessageAttributes"] = attributes
    return entry


@dataclass(frozen=True)
class QueueTarget:
    sqs: SQSClient
    queue_url: str
    queue_arn: str

    @classmethod
    def connect(cls, sqs: SQSClient, queue_url: str) -> QueueTarget:
        """Fails early (QueueDoesNotExist, AccessDenied) when the queue cannot be used."""
        found = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        return cls(sqs, queue_url, found["QueueArn"])

    @property
    def description(self) -> str:
        return f"queue {self.queue_url}"

    @property
    def batch_size(self) -> int:
        return SQS_BATCH_ENTRIES

    def subscribed_by(self, endpoint: str) -> bool:
        return endpoint == self.queue_arn

    def deliver(self, notifications: Sequence[Notification], subscriptions: Mapping[str, str]) -> Iterator[str | None]:
        entries = [queue_entry(str(index), notification) for index, notification in enumerate(notifications)]
        yield from send_all(self.sqs, self.queue_url, entries)


@dataclass(frozen=True)
class FunctionTarget:
    lambda_client: LambdaInvoker
    function: str
    """A name, or a (possibly qualified) ARN."""

    @property
    def description(self) -> str:
        return f"function {self.function}"

    @property
    def batch_size(self) -> int:
        return 1  # one synchronous invoke per notification

    def subscribed_by(self, endpoint: str) -> bool:
        return endpoint == self.function or _function_name(endpoint) == _function_name(self.function)

    def deliver(self, notifications: Sequence[Notification], subscriptions: Mapping[str, str]) -> Iterator[str | None]:
        for notification in notifications:
            # Not subscribed (yet): an ARN of the subscription's shape; consumers do not read it.
            subscription_arn = subscriptions.get(notification.topic_arn) or (
                f"{notification.topic_arn}:{uuid.uuid5(uuid.NAMESPACE_URL, self.function)}"
            )
            try:
                event = sns_event(notification.envelope, subscription_arn)
            except KeyError as missing:
                yield f"notification without {missing}"
                continue
            yield self._invoke(event)

    def _invoke(self, event: Mapping[str, Any]) -> str | None:
        try:
            response = self.lambda_client.invoke(
                FunctionName=self.function, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
            )
        except (ClientError, BotoCoreError) as error:
            return reason_of(error)
        payload = response.get("Payload")
        body = payload.read() if payload is not None else b""
        if response.get("FunctionError"):
            return f"FunctionError {_error_type(body) or response['FunctionError']}"
        if response.get("StatusCode") != 200:
            return f"StatusCode {response.get('StatusCode')}"
        return None


def _function_name(name_or_arn: str) -> str:
    """arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>] -> name."""
    parts = name_or_arn.split(":")
    return parts[6] if name_or_arn.startswith("arn:") and len(parts) > 6 else name_or_arn


def _error_type(body: bytes) -> str | None:
    try:
        error = json.loads(body)
    except ValueError:
        return None
    return str(error.get("errorType")) if isinstance(error, dict) and error.get("errorType") else None
