"""Moving by hand, back to the source queues: receive, send with body and attributes, delete only what was sent."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.aws import reason_of
from pps_ops.redrive.dead_letters import settle
from pps_ops.redrive.summary import Summary
from pps_ops.sqs_batches import send_all
from pps_ops.sqs_reads import received

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        MessageAttributeValueTypeDef,
        MessageTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )


@dataclass
class Sources:
    sqs: SQSClient
    urls: dict[str, str]
    """ARN -> URL: the dead-letter queue's source queues, and any other named by a message."""

    def destination(self, message: MessageTypeDef) -> tuple[str | None, str]:
        """(URL, name) of the queue the message came from; (None, why) when that cannot be known."""
        arn = message.get("Attributes", {}).get("DeadLetterQueueSourceArn")
        if arn is None and len(self.urls) == 1:
            arn = next(iter(self.urls))
        if arn is None:
            return None, f"no DeadLetterQueueSourceArn and {len(self.urls)} source queues"
        if arn not in self.urls:
            try:
                *_, account, name = arn.split(":")
                self.urls[arn] = self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            except (ClientError, BotoCoreError, ValueError) as error:
                return None, f"source queue {arn} unreachable ({reason_of(error)})"
        return self.urls[arn], arn.rsplit(":", 1)[-1]


def resend_entry(entry_id: str, message: MessageTypeDef) -> SendMessageBatchRequestEntryTypeDef:
    """The message as it was sent: body and message attributes (and for FIFO queues its group)."""
    entry: SendMessageBatchRequestEntryTypeDef = {"Id": entry_id, "MessageBody": message["Body"]}
    attributes: dict[str, MessageAttributeValueTypeDef] = {}
    for name, value in message.get("MessageAttributes", {}).items():
        attribute: MessageAttributeValueTypeDef = {"DataType": value["DataType"]}
        if "StringValue" in value:
            attribute["StringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            attribute["BinaryValue"] = value["BinaryValue"]
        attributes[name] = attribute
    if attributes:
        entry["MessageAttributes"] = attributes
    group = message.get("Attributes", {}).get("MessageGroupId")
    if group:
        entry["MessageGroupId"] = group
        # A fresh id: within five minutes, the original one would make SQS drop the message as a repeat.
        entry["MessageDeduplicationId"] = str(uuid.uuid4())
    return entry


def move_by_hand(
    sqs: SQSClient, queue_url: str, sources: Sources, limit: int, summary: Summary, advance: Callable[[int], None]
) -> list[str]:
    """Move up to `limit` messages; the receipt handles of a dry run's messages, to release them."""
    held: list[str] = []
    for messages in received(sqs, queue_url, limit):
        summary.found += len(messages)
        by_queue: dict[str, list[MessageTypeDef]] = {}
        names: dict[str, str] = {}
        for message in messages:
            url, name = sources.destination(message)
            if url is None:
                summary.count_failure(name, left=True)
                continue
            by_queue.setdefault(url, []).append(message)
            names[url] = name
        if summary.dry_run:
            held += [message["ReceiptHandle"] for message in messages]
            for url, group in by_queue.items():
                summary.count_moved(names[url], len(group))
        else:
            for url, group in by_queue.items():
                _resend(sqs, queue_url, url, names[url], group, summary)
        advance(len(messages))
    return held


def _resend(
    sqs: SQSClient, dlq_url: str, url: str, name: str, messages: Sequence[MessageTypeDef], summary: Summary
) -> None:
    entries = [resend_entry(str(index), message) for index, message in enumerate(messages)]
    sent = []
    for message, failure in zip(messages, send_all(sqs, url, entries), strict=True):
        if failure is None:
            sent.append(message["ReceiptHandle"])
        else:
            # Left hidden: made visible now, this run would receive it again.
            summary.count_failure(failure)
    settle(sqs, dlq_url, sent, name, summary)
