"""The archive's dead-letter queue: what SNS could not hand to the archive, put into its Firehose stream."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.aws import reason_of
from pps_ops.offload import renew_body
from pps_ops.redrive.dead_letters import settle, sns_notification
from pps_ops.redrive.summary import Summary
from pps_ops.sqs_reads import received

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient


class FirehoseWriter(Protocol):
    """The one call made on a Firehose client."""

    def put_record_batch(
        self, *, DeliveryStreamName: str, Records: Sequence[Mapping[str, bytes]]
    ) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class ArchiveStream:
    """The Firehose stream that writes the archive (output ArchiveStreamName)."""

    client: FirehoseWriter
    name: str
    s3: S3Client
    """Renews the offloaded bodies of what it re-archives: the new archive line must not outlive them."""

    def put(self, records: Sequence[bytes]) -> list[str | None]:
        """Per record: None when Firehose took it, else why not."""
        try:
            response = self.client.put_record_batch(
                DeliveryStreamName=self.name, Records=[{"Data": record} for record in records]
            )
        except (ClientError, BotoCoreError) as error:
            return [reason_of(error)] * len(records)
        return [entry.get("ErrorCode") for entry in response.get("RequestResponses", [])]


def rearchive(
    sqs: SQSClient, queue_url: str, stream: ArchiveStream, limit: int, summary: Summary, advance: Callable[[int], None]
) -> list[str]:
    """Put each parked notification into the archive stream; the receipt handles of a dry run's messages."""
    held: list[str] = []
    for messages in received(sqs, queue_url, limit):
        summary.found += len(messages)
        records: list[bytes] = []
        handles: list[str] = []
        for message in messages:
            notification = sns_notification(message)
            if summary.dry_run:
                held.append(message["ReceiptHandle"])
            if notification is None:
                summary.count_failure("not an SNS notification", left=True)
            elif summary.dry_run:
                summary.count_moved(stream.name)
            elif (failure := renew_body(stream.s3, notification)) is not None:
                summary.count_failure(failure)
            else:
                records.append(json.dumps(notification).encode())
                handles.append(message["ReceiptHandle"])
        sent = []
        for handle, failure in zip(handles, stream.put(records) if records else [], strict=True):
            if failure is None:
                sent.append(handle)
            else:
                summary.count_failure(failure)
        settle(sqs, queue_url, sent, stream.name, summary)
        advance(len(messages))
    return held
