"""The dead-letter queue: its source queues, and its messages (read with pps_ops.sqs_reads) deleted only once
moved."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.aws import reason_of
from pps_ops.lambda_events import sns_timestamp
from pps_ops.sqs_reads import queue_attributes

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

    from pps_ops.redrive.summary import Summary


def source_queues(sqs: SQSClient, queue_url: str) -> dict[str, str]:
    """ARN -> URL of every queue whose redrive policy names this one."""
    urls: list[str] = []
    for page in sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=queue_url):
        urls += page.get("queueUrls", [])
    return {queue_attributes(sqs, url)["QueueArn"]: url for url in urls}


def delete(sqs: SQSClient, queue_url: str, receipt_handles: Sequence[str]) -> list[str]:
    """Why each message that could not be deleted was not (nothing when all were)."""
    problems: list[str] = []
    for start in range(0, len(receipt_handles), 10):
        chunk = receipt_handles[start : start + 10]
        try:
            response = sqs.delete_message_batch(
                QueueUrl=queue_url, Entries=[{"Id": str(index), "ReceiptHandle": h} for index, h in enumerate(chunk)]
            )
        except (ClientError, BotoCoreError) as error:
            problems += [reason_of(error)] * len(chunk)
            continue
        problems += [failed.get("Code") or "Failed" for failed in response.get("Failed", [])]
    return problems


def settle(sqs: SQSClient, queue_url: str, receipt_handles: Sequence[str], destination: str, summary: Summary) -> None:
    """Count the messages safely somewhere else as moved there, then delete them from the dead-letter queue."""
    summary.count_moved(destination, len(receipt_handles))
    for problem in delete(sqs, queue_url, receipt_handles):
        summary.not_deleted += 1
        summary.reasons[f"delete {problem}"] += 1


def sns_notification(message: MessageTypeDef) -> dict[str, Any] | None:
    """The SNS notification a message parked by SNS holds: its body, or (raw) its body and attributes."""
    try:
        body = json.loads(message["Body"])
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
        return body
    attributes = message.get("MessageAttributes", {})
    if not any(name.startswith("X-Pps-") for name in attributes):
        return None
    return {
        "Type": "Notification",
        "MessageId": message["MessageId"],
        "TopicArn": "",
        "Message": message["Body"],
        "Timestamp": _sent_at(message),
        # Parked raw, it lost the envelope SNS signed: there is no signature to pass on.
        "SignatureVersion": "1",
        "Signature": "",
        "SigningCertURL": "",
        "MessageAttributes": {
            name: {"Type": value["DataType"], "Value": value.get("StringValue", "")}
            for name, value in attributes.items()
        },
    }


def _sent_at(message: MessageTypeDef) -> str:
    sent = int(message.get("Attributes", {}).get("SentTimestamp", "0"))
    return sns_timestamp(datetime.fromtimestamp(sent / 1000, UTC))
