"""`make redrive`: move the messages parked in a dead-letter queue back, so that they are processed again.

Nothing leaves the dead-letter queue before it is safely somewhere else.

- A consumer queue's DLQ (it has source queues): SQS's own redrive, a message move task back to the
  source queues, followed until it is done (for a bounded time). Where that API is missing (an emulator)
  or MAX is set (a task cannot be bounded), by hand: receive, send to the source queue with the body and
  message attributes, delete only what was sent.
- A Lambda function's DLQ (failed asynchronous invocations; no source queue): each message body is the
  original event. FUNCTION is invoked with it asynchronously, and the message deleted after the 202. What
  SNS itself could not deliver to the function (the subscription's RedrivePolicy parks it in the same queue)
  is the notification, not an event: it is wrapped in the SNS event Lambda would have received.
- The archive's DLQ (what SNS could not hand to the archive stream): STREAM names the Firehose stream, and
  each notification is put into it as SNS would have.

Consumers must be idempotent (X-Pps-Tenant-Id + X-Pps-Webhook-Id): a redriven message may have been
partly processed before.

Settings (make variables, read from the environment):
  QUEUE     the dead-letter queue's URL                            required
  FUNCTION  the function whose dead-letter queue it is             required for a Lambda function's DLQ
  STREAM    the archive's Firehose stream (ArchiveStreamName)      required for the archive's DLQ
  DRY_RUN   1: count what would move (and where), move nothing
  MAX       move at most N messages                                what the queue holds when it starts
AWS credentials, region and endpoint (AWS_ENDPOINT_URL) come from the standard SDK settings.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.lambda_events import sns_event
from pps_ops.progress import Progress
from pps_ops.replay.replay import (
    LambdaInvoker,
    UsageError,
    aws_config,
    batches,
    flag,
    reason_of,
    renew_body,
    say,
    send_batch,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        ListMessageMoveTasksResultEntryTypeDef,
        MessageAttributeValueTypeDef,
        MessageTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

VISIBILITY_SECONDS = 60
RECEIVE_WAIT_SECONDS = 1
TASK_WAIT_SECONDS = 120
TASK_POLL_SECONDS = 2
# How an endpoint without the message-move API answers (moto: a bare 500); real SQS answers those it has.
UNAVAILABLE_CODES = {"NotImplemented", "InvalidAction", "UnknownOperationException", "UnsupportedOperation"}
IDEMPOTENCY_NOTE = (
    "Consumers receive these messages again: a redrive is safe because they are idempotent "
    "(X-Pps-Tenant-Id + X-Pps-Webhook-Id)."
)


@dataclass
class Summary:
    queue_url: str
    method: str
    dry_run: bool
    waiting: int = 0
    """ApproximateNumberOfMessages when it started."""
    found: int = 0
    """Read from the queue (for a move task: what it had to move)."""
    moved: int = 0
    failed: int = 0
    """Not moved: still in the dead-letter queue."""
    left: int = 0
    """Not moved on purpose: there is nowhere to send them."""
    not_deleted: int = 0
    """Moved, but still in the dead-letter queue too: a later redrive delivers them once more."""
    destinations: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.left == 0 and self.not_deleted == 0

    def lines(self) -> list[str]:
        verb = "would move" if self.dry_run else "moved"
        to = ", ".join(f"{count} to {name}" for name, count in sorted(self.destinations.items()))
        lines = [
            f"Redrive of {self.queue_url}: {self.method}" + ("  (dry run: nothing moved)" if self.dry_run else ""),
            f"  found        {self.found}  (about {self.waiting} waiting when it started)",
            f"  {verb:<12} {self.moved}" + (f"  ({to})" if to else ""),
            f"  failed       {self.failed}"
            + (f"  still in the dead-letter queue, visible again within {VISIBILITY_SECONDS} s" if self.failed else ""),
            f"  left         {self.left}"
            + ("  (nowhere to send them: still in the dead-letter queue)" if self.left else ""),
        ]
        if self.not_deleted:
            lines.append(f"  not deleted  {self.not_deleted}  (moved, but still in the dead-letter queue as well)")
        if self.reasons:
            lines.append(
                "  why          " + ", ".join(f"{count} {reason}" for reason, count in self.reasons.most_common())
            )
        lines += [f"Note: {note}" for note in self.notes]
        lines.append(IDEMPOTENCY_NOTE)
        return lines

    def count_failure(self, reason: str, *, left: bool = False) -> None:
        if left:
            self.left += 1
        else:
            self.failed += 1
        self.reasons[reason] += 1


@dataclass(frozen=True)
class ArchiveStream:
    """The Firehose stream that writes the archive (output ArchiveStreamName)."""

    client: FirehoseWriter
    name: str
    s3: S3Client
    """Renews the claim-checked bodies of what it re-archives: the new archive line must not outlive them."""

    def put(self, records: Sequence[bytes]) -> list[str | None]:
        """Per record: None when Firehose took it, else why not."""
        try:
            response = self.client.put_record_batch(
                DeliveryStreamName=self.name, Records=[{"Data": record} for record in records]
            )
        except (ClientError, BotoCoreError) as error:
            return [reason_of(error)] * len(records)
        return [entry.get("ErrorCode") for entry in response.get("RequestResponses", [])]


class FirehoseWriter(Protocol):
    """The one call made on a Firehose client."""

    def put_record_batch(
        self, *, DeliveryStreamName: str, Records: Sequence[Mapping[str, bytes]]
    ) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class AsyncFunction:
    """The function whose failed asynchronous invocations the queue holds."""

    client: LambdaInvoker
    name: str

    def invoke(self, event: str) -> str | None:
        """None when Lambda accepted the event (202), else why not."""
        try:
            response = self.client.invoke(FunctionName=self.name, InvocationType="Event", Payload=event.encode())
        except (ClientError, BotoCoreError) as error:
            return reason_of(error)
        return None if response.get("StatusCode") == 202 else f"StatusCode {response.get('StatusCode')}"


# --- the queue -------------------------------------------------------------------------------------


def source_queues(sqs: SQSClient, queue_url: str) -> dict[str, str]:
    """ARN -> URL of every queue whose redrive policy names this one."""
    urls: list[str] = []
    for page in sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=queue_url):
        urls += page.get("queueUrls", [])
    return {queue_attributes(sqs, url)["QueueArn"]: url for url in urls}


def received(sqs: SQSClient, queue_url: str, limit: int) -> Iterator[list[MessageTypeDef]]:
    """Batches of at most 10 messages, each hidden for VISIBILITY_SECONDS, each once, at most `limit` in all.

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
            VisibilityTimeout=VISIBILITY_SECONDS,
            WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [message for message in messages if message["MessageId"] not in seen]
        if not fresh:
            return
        seen.update(message["MessageId"] for message in fresh)
        yield fresh


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
    summary.moved += len(receipt_handles)
    summary.destinations[destination] += len(receipt_handles)
    for problem in delete(sqs, queue_url, receipt_handles):
        summary.not_deleted += 1
        summary.reasons[f"delete {problem}"] += 1


def release(sqs: SQSClient, queue_url: str, receipt_handles: Sequence[str]) -> None:
    """Visible again at once: what a dry run received, it leaves as it was."""
    for start in range(0, len(receipt_handles), 10):
        chunk = receipt_handles[start : start + 10]
        # Should this fail, they come back on their own within VISIBILITY_SECONDS.
        with contextlib.suppress(ClientError, BotoCoreError):
            sqs.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(chunk)],
            )


def queue_attributes(sqs: SQSClient, queue_url: str) -> dict[str, str]:
    """QueueArn and ApproximateNumberOfMessages (a missing queue fails here, early)."""
    found = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn", "ApproximateNumberOfMessages"])
    return {str(name): value for name, value in found["Attributes"].items()}


# --- by hand, to the source queues ------------------------------------------------------------------


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
                return None, f"source queue {arn} unreachable ({_why(error)})"
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
    sqs: SQSClient, queue_url: str, sources: Sources, limit: int, summary: Summary, bar: Progress
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
                summary.moved += len(group)
                summary.destinations[names[url]] += len(group)
        else:
            for url, group in by_queue.items():
                _resend(sqs, queue_url, url, names[url], group, summary)
        bar.advance(len(messages))
    return held


def _resend(
    sqs: SQSClient, dlq_url: str, url: str, name: str, messages: Sequence[MessageTypeDef], summary: Summary
) -> None:
    entries = [resend_entry(str(index), message) for index, message in enumerate(messages)]
    results: list[str | None] = []
    for batch in batches(entries):
        results += send_batch(sqs, url, batch)
    sent = []
    for message, failure in zip(messages, results, strict=True):
        if failure is None:
            sent.append(message["ReceiptHandle"])
        else:
            # Left hidden: made visible now, this run would receive it again.
            summary.count_failure(failure)
    settle(sqs, dlq_url, sent, name, summary)


# --- SQS's own redrive --------------------------------------------------------------------------------


def unavailable(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    code = str(error.response.get("Error", {}).get("Code", ""))
    return status in (500, 501) or code in UNAVAILABLE_CODES or code.endswith(".UnsupportedOperation")


def start_move_task(sqs: SQSClient, dlq_arn: str, sources: Mapping[str, str], summary: Summary) -> str | None:
    """The task's handle; None where the API is unavailable (noted in summary).

    With one source queue, the task is told where to: a message that SNS parked here (it could not deliver
    it to that queue) has no source queue of its own, and only a destination sends it there too.
    """
    try:
        if len(sources) == 1:
            handle: str = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=next(iter(sources)))[
                "TaskHandle"
            ]
        else:
            handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    except ClientError as error:
        if not unavailable(error):
            raise
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = reason_of(error)
        answer = f"HTTP {status}" if code == str(status) else f"{code}, HTTP {status}"
        summary.notes.append(
            f"StartMessageMoveTask is not available at this endpoint ({answer}): moved by hand instead"
        )
        return None
    return handle


def follow_move_task(
    sqs: SQSClient, dlq_arn: str, handle: str, summary: Summary, bar: Progress, wait_seconds: float
) -> None:
    """Poll the task until it ends or `wait_seconds` pass; it runs on in SQS either way."""
    task: ListMessageMoveTasksResultEntryTypeDef = {}
    for turn in range(int(wait_seconds // TASK_POLL_SECONDS) + 1):
        if turn:
            time.sleep(TASK_POLL_SECONDS)
        try:
            tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10).get("Results", [])
        except (ClientError, BotoCoreError) as error:
            summary.notes.append(f"could not follow move task {handle} ({reason_of(error)}): it runs on in SQS")
            break
        # Only a running task shows its handle; the latest comes first.
        running = [found for found in tasks if found.get("TaskHandle") == handle]
        task = running[0] if running else tasks[0] if tasks else task
        bar.update(task.get("ApproximateNumberOfMessagesMoved", 0), task.get("ApproximateNumberOfMessagesToMove", 0))
        if task.get("Status") not in ("RUNNING", "CANCELLING"):
            break
    _tally_task(task, dlq_arn, summary, wait_seconds)


def _tally_task(task: ListMessageMoveTasksResultEntryTypeDef, dlq_arn: str, summary: Summary, waited: float) -> None:
    if not task:
        summary.notes.append(f"follow the move task with `aws sqs list-message-move-tasks --source-arn {dlq_arn}`")
        return
    status = task.get("Status", "UNKNOWN")
    summary.found = task.get("ApproximateNumberOfMessagesToMove", 0)
    summary.moved = task.get("ApproximateNumberOfMessagesMoved", 0)
    summary.destinations["its source queues"] = summary.moved
    if status == "FAILED":
        summary.failed = max(summary.found - summary.moved, 0)
        summary.reasons[task.get("FailureReason") or "task FAILED"] += summary.failed or 1
    elif status != "COMPLETED":
        summary.notes.append(
            f"the move task is {status} after {waited:.0f} s; follow it with "
            f"`aws sqs list-message-move-tasks --source-arn {dlq_arn}`"
        )


# --- a function's dead-letter queue -------------------------------------------------------------------


def reinvoke(
    sqs: SQSClient, queue_url: str, dlq_arn: str, function: AsyncFunction, limit: int, summary: Summary, bar: Progress
) -> list[str]:
    """Invoke the function again with up to `limit` events; the receipt handles of a dry run's messages."""
    held: list[str] = []
    for messages in received(sqs, queue_url, limit):
        summary.found += len(messages)
        accepted: list[str] = []
        for message in messages:
            if summary.dry_run:
                held.append(message["ReceiptHandle"])
            event = lambda_event(message, dlq_arn)
            if event is None:
                summary.count_failure("body is not a JSON event", left=True)
            elif summary.dry_run:
                summary.moved += 1
                summary.destinations[function.name] += 1
            elif (failure := function.invoke(event)) is None:
                accepted.append(message["ReceiptHandle"])
            else:
                summary.count_failure(failure)
            bar.advance()
        settle(sqs, queue_url, accepted, function.name, summary)
    return held


def lambda_event(message: MessageTypeDef, dlq_arn: str) -> str | None:
    """The event to invoke the function with: a failed invocation's own event, or, for what SNS parked
    here, the SNS event the subscription would have delivered; None when it is neither."""
    notification = sns_notification(message)
    if notification is not None:
        if not notification.get("TopicArn"):  # a raw message does not say: an ARN of the right region and shape
            _, partition, _, region, account, _ = dlq_arn.split(":", 5)
            notification["TopicArn"] = f"arn:{partition}:sns:{region}:{account}:unknown"
        return json.dumps(sns_event(notification, f"{notification['TopicArn']}:redrive"))
    try:
        event = json.loads(message["Body"])
    except ValueError:
        return None
    return message["Body"] if isinstance(event, dict) else None


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
    return datetime.fromtimestamp(sent / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- the archive's dead-letter queue --------------------------------------------------------------------


def rearchive(
    sqs: SQSClient, queue_url: str, stream: ArchiveStream, limit: int, summary: Summary, bar: Progress
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
                summary.moved += 1
                summary.destinations[stream.name] += 1
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
        bar.advance(len(messages))
    return held


# --- redrive --------------------------------------------------------------------------------------------


def redrive(
    sqs: SQSClient,
    queue_url: str,
    *,
    function: AsyncFunction | None = None,
    stream: ArchiveStream | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    task_wait_seconds: float = TASK_WAIT_SECONDS,
    progress: TextIO | None = None,
) -> Summary:
    """Move what waits in the dead-letter queue at `queue_url` back: at most `limit` messages, by default
    what it holds when this starts (so messages that fail again and come back are not moved twice)."""
    attributes = queue_attributes(sqs, queue_url)
    waiting = int(attributes.get("ApproximateNumberOfMessages", 0))
    sources = source_queues(sqs, queue_url)
    _check(queue_url, sources, function, stream)
    bound = waiting if limit is None else limit
    verb = "read" if dry_run else "moved"
    if stream is not None:
        summary = Summary(queue_url, f"into the archive stream {stream.name}", dry_run, waiting)
        bar = Progress(bound, verb, progress)
        held = rearchive(sqs, queue_url, stream, bound, summary, bar)
    elif function is not None:
        summary = Summary(queue_url, f"asynchronous invocations of {function.name}", dry_run, waiting)
        bar = Progress(bound, verb, progress)
        held = reinvoke(sqs, queue_url, attributes["QueueArn"], function, bound, summary, bar)
    else:
        summary = Summary(queue_url, f"an SQS message move task back to {_names(sources)}", dry_run, waiting)
        bar = Progress(bound, verb, progress)
        handle = (
            None if limit is not None or dry_run else start_move_task(sqs, attributes["QueueArn"], sources, summary)
        )
        if handle is not None:
            follow_move_task(sqs, attributes["QueueArn"], handle, summary, bar, task_wait_seconds)
            bar.close()
            return summary
        if limit is not None:
            summary.notes.append("MAX is set, and a message move task cannot be bounded: moved by hand")
        elif dry_run:
            summary.notes.append("a real run starts an SQS message move task where the API is available")
        summary.method = f"by hand, back to {_names(sources)}"
        held = move_by_hand(sqs, queue_url, Sources(sqs, dict(sources)), bound, summary, bar)
    bar.close()
    release(sqs, queue_url, held)
    return summary


def _check(
    queue_url: str, sources: Mapping[str, str], function: AsyncFunction | None, stream: ArchiveStream | None
) -> None:
    if function is not None and stream is not None:
        raise UsageError("name FUNCTION or STREAM, not both")
    if sources and (function is not None or stream is not None):
        raise UsageError(
            f"{queue_url} is the dead-letter queue of {_names(sources)}, not of a function or the archive: "
            "leave FUNCTION and STREAM out"
        )
    if not sources and function is None and stream is None:
        raise UsageError(
            f"{queue_url} is no queue's dead-letter queue: name the function whose failed invocations it holds "
            "(FUNCTION=<name or ARN>), or, for the archive's dead-letter queue, the stream (STREAM=<name>)"
        )


def _names(sources: Mapping[str, str]) -> str:
    return ", ".join(sorted(arn.rsplit(":", 1)[-1] for arn in sources))


def _why(error: Exception) -> str:
    return reason_of(error) if isinstance(error, ClientError | BotoCoreError) else str(error)


# --- the command line ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    queue_url: str
    function: str | None
    dry_run: bool
    limit: int | None
    stream: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        queue_url = env.get("QUEUE", "").strip()
        if not queue_url.startswith(("https://", "http://")):
            raise UsageError(f"QUEUE must be the dead-letter queue's URL (https://sqs...), not {queue_url!r}")
        limit_text = env.get("MAX", "").strip()
        if limit_text and (not limit_text.isdigit() or int(limit_text) < 1):
            raise UsageError(f"MAX must be a whole number >= 1, not {limit_text!r}")
        return cls(
            queue_url=queue_url,
            function=env.get("FUNCTION", "").strip() or None,
            dry_run=flag(env.get("DRY_RUN"), "DRY_RUN"),
            limit=int(limit_text) if limit_text else None,
            stream=env.get("STREAM", "").strip() or None,
        )


def main(env: Mapping[str, str] | None = None) -> int:
    try:
        settings = Settings.from_env(os.environ if env is None else env)
    except UsageError as error:
        say(f"make redrive: {error}", error=True)
        return 2
    function = None
    if settings.function:
        lambda_client: LambdaInvoker = boto3.client("lambda", config=aws_config())
        function = AsyncFunction(lambda_client, settings.function)
    stream = None
    if settings.stream:
        stream = ArchiveStream(
            boto3.client("firehose", config=aws_config()), settings.stream, boto3.client("s3", config=aws_config())
        )
    try:
        summary = redrive(
            boto3.client("sqs", config=aws_config()),
            settings.queue_url,
            function=function,
            stream=stream,
            dry_run=settings.dry_run,
            limit=settings.limit,
        )
    except UsageError as error:
        say(f"make redrive: {error}", error=True)
        return 2
    except (ClientError, BotoCoreError) as error:
        say(f"make redrive: {error}", error=True)
        return 1
    for line in summary.lines():
        say(line)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
