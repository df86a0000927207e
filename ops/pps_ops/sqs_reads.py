"""Reading an SQS queue without consuming it: its messages received once each (hidden meanwhile), then deleted by
whoever moved them, or made visible again at once. What `make redrive` and `make find` share."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

VISIBILITY_SECONDS = 60
RECEIVE_WAIT_SECONDS = 1
"""Long polling: a short poll asks only some of SQS's servers, and can come back empty from a queue holding a few
messages, which would end a read early."""


def queue_attributes(sqs: SQSClient, queue_url: str) -> dict[str, str]:
    """QueueArn and ApproximateNumberOfMessages (a missing queue fails here, early)."""
    found = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn", "ApproximateNumberOfMessages"])
    return {str(name): value for name, value in found["Attributes"].items()}


def received(
    sqs: SQSClient, queue_url: str, limit: int, visibility: int = VISIBILITY_SECONDS
) -> Iterator[list[MessageTypeDef]]:
    """Batches of at most 10 messages, each hidden for `visibility` seconds, each once, at most `limit` in all.

    Ends at the first receive that brings nothing new: an empty queue, or only messages seen already (a
    failed one visible again). Each turn brings at least one message or ends, so `limit` turns suffice.
    """
    seen: set[str] = set()
    for _ in range(limit):
        wanted = min(10, limit - len(seen))
        if wanted <= 0:
            return
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=wanted,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [message for message in messages if message["MessageId"] not in seen]
        if not fresh:
            return
        seen.update(message["MessageId"] for message in fresh)
        yield fresh


def release(sqs: SQSClient, queue_url: str, receipt_handles: Sequence[str]) -> int:
    """Visible again at once (ChangeMessageVisibility 0), ten per call, each refused entry tried once more; how
    many could not be (they come back on their own when their visibility timeout ends)."""
    failed = 0
    for start in range(0, len(receipt_handles), 10):
        entries = [
            {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for index, handle in enumerate(receipt_handles[start : start + 10])
        ]
        for _attempt in range(2):
            try:
                response = sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
                refused = {str(refusal["Id"]) for refusal in response.get("Failed", [])}
            except (ClientError, BotoCoreError):
                refused = {str(entry["Id"]) for entry in entries}
            entries = [entry for entry in entries if entry["Id"] in refused]
            if not entries:
                break
        failed += len(entries)
    return failed
