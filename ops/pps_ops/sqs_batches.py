"""Sending to an SQS queue in SendMessageBatch-sized groups, retrying only what failed through no fault of its own."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from time import sleep
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.aws import reason_of

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

SQS_BATCH_ENTRIES = 10
SQS_BATCH_BYTES = 262_144
SEND_ATTEMPTS = 3


def entry_size(entry: SendMessageBatchRequestEntryTypeDef) -> int:
    size = len(entry["MessageBody"].encode())
    for name, value in entry.get("MessageAttributes", {}).items():
        content = value.get("StringValue") or value.get("BinaryValue") or b""
        length = (
            len(content.encode()) if isinstance(content, str) else len(content) if isinstance(content, bytes) else 0
        )
        size += len(name.encode()) + len(value["DataType"].encode()) + length
    return size


def batches(
    entries: Sequence[SendMessageBatchRequestEntryTypeDef],
) -> Iterator[list[SendMessageBatchRequestEntryTypeDef]]:
    """SendMessageBatch-sized groups: at most 10 entries and 256 KiB."""
    batch: list[SendMessageBatchRequestEntryTypeDef] = []
    size = 0
    for entry in entries:
        if batch and (len(batch) == SQS_BATCH_ENTRIES or size + entry_size(entry) > SQS_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry_size(entry)
    if batch:
        yield batch


def send_batch(
    sqs: SQSClient, queue_url: str, entries: Sequence[SendMessageBatchRequestEntryTypeDef]
) -> list[str | None]:
    """SendMessageBatch, retrying only the entries that failed through no fault of their own.

    One result per entry, in order: None when sent, else why not. A call that fails (the SDK has already
    retried it) fails every entry still pending.
    """
    pending = {entry["Id"]: entry for entry in entries}
    reasons: dict[str, str] = {}
    for attempt in range(SEND_ATTEMPTS):
        if attempt:
            sleep(0.2 * attempt)
        try:
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=list(pending.values()))
        except (ClientError, BotoCoreError) as error:
            reasons.update(dict.fromkeys(pending, reason_of(error)))
            break
        for sent in response.get("Successful", []):
            reasons.pop(sent["Id"], None)
        retry = {}
        for failed in response.get("Failed", []):
            reasons[failed["Id"]] = failed.get("Code") or "Failed"
            if not failed.get("SenderFault") and failed["Id"] in pending:
                retry[failed["Id"]] = pending[failed["Id"]]
        pending = retry
        if not pending:
            break
    return [reasons.get(entry["Id"]) for entry in entries]


def send_all(
    sqs: SQSClient, queue_url: str, entries: Sequence[SendMessageBatchRequestEntryTypeDef]
) -> Iterator[str | None]:
    """Every entry, a batch at a time: one result per entry, in order (None when sent, else why not)."""
    for batch in batches(entries):
        yield from send_batch(sqs, queue_url, batch)
