"""`make replay`: deliver the archived webhooks of one topic in a time window again, to ONE consumer.

Never through the SNS topic: that would reach every subscriber. The archive (SNS -> Firehose -> S3) holds
one SNS notification per line under `webhooks/topic=<X-Pps-Topic, / as _>/date=<UTC arrival date>/`;
only the date partitions of the window are read. An SQS queue gets each webhook as raw delivery would
put it there (the body, the X-Pps-* attributes); a Lambda function is invoked synchronously with the exact
event SNS would hand it. Consumers must be idempotent (X-Pps-Tenant-Id + X-Pps-Webhook-Id): that is what
makes a replay safe.

Settings (make variables, read from the environment):
  TOPIC           X-Pps-Topic to replay                       required, e.g. orders/placed
  SINCE           start of the window, inclusive (UTC)        required: 2024-01-01 or 2024-01-01T10:00:00Z
  UNTIL           end of the window, exclusive (UTC)          now
  TARGET          an SQS queue URL, or a Lambda function name or ARN
  DRY_RUN         1: read and count, send nothing
  ARCHIVE_BUCKET  the archive bucket                          the ArchiveBucketName output of STACK
  STACK           the CloudFormation stack                    pps-webhooks
AWS credentials, region and endpoint (AWS_ENDPOINT_URL) come from the standard SDK settings.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import sys
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import sleep
from typing import TYPE_CHECKING, Any, Literal, Protocol, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.lambda_events import sns_event
from pps_ops.progress import Progress

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, SendMessageBatchRequestEntryTypeDef

PREFIX = "webhooks"
DEFAULT_STACK = "pps-webhooks"
BUCKET_OUTPUT = "ArchiveBucketName"
SIZE_ATTRIBUTE = "ExtendedPayloadSize"
GZIP_MAGIC = b"\x1f\x8b"
SQS_BATCH_ENTRIES = 10
SQS_BATCH_BYTES = 262_144
SEND_ATTEMPTS = 3
IDEMPOTENCY_NOTE = (
    "Consumers receive these webhooks again: a replay is safe because they are idempotent "
    "(X-Pps-Tenant-Id + X-Pps-Webhook-Id)."
)


class UsageError(ValueError):
    """A setting is missing or wrong: the command line must change, not the cloud."""


def aws_config(read_timeout: float = 10) -> Config:
    """Bounded calls: short connect, bounded read, three tries in all (the SDK's standard retry mode)."""
    return Config(connect_timeout=2, read_timeout=read_timeout, retries={"mode": "standard", "total_max_attempts": 3})


def say(text: str = "", *, error: bool = False) -> None:
    print(text, file=sys.stderr if error else sys.stdout)


def flag(value: str | None, name: str) -> bool:
    text = (value or "").strip().lower()
    if text in ("", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise UsageError(f"{name} must be 1 or 0, not {value!r}")


def reason_of(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "ClientError")
    return type(error).__name__


# --- the window -------------------------------------------------------------------------------------


def parse_moment(text: str, name: str) -> datetime:
    """A date (its midnight) or an ISO date-time; UTC unless it names an offset."""
    try:
        return datetime.combine(date.fromisoformat(text.strip()), time.min, UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{name} must be a date or an ISO date-time (2024-01-01, 2024-01-01T10:00:00Z), not {text!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    since: datetime
    """Inclusive."""
    until: datetime
    """Exclusive."""

    def __post_init__(self) -> None:
        if self.since >= self.until:
            raise UsageError(f"SINCE ({_iso(self.since)}) must be before UNTIL ({_iso(self.until)})")

    def __contains__(self, moment: datetime) -> bool:
        return self.since <= moment < self.until

    def partition_dates(self) -> list[date]:
        """The arrival dates to read, in order."""
        first = self.since.date()
        # One day more than the window: a notification published just before midnight arrives after it.
        last = (self.until - timedelta(microseconds=1)).date() + timedelta(days=1)
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def topic_prefix(topic: str) -> str:
    return f"{PREFIX}/topic={topic.replace('/', '_')}/"


def partition_of(key: str) -> date | None:
    """The arrival date of an archive object: webhooks/topic=.../date=2024-01-01/<name>."""
    segment = key.split("/")[2] if key.count("/") >= 3 else ""
    try:
        return date.fromisoformat(segment.removeprefix("date=")) if segment.startswith("date=") else None
    except ValueError:
        return None


# --- the archive ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """One SNS notification, as SNS hands a non-raw subscriber (and as Firehose archived it)."""

    envelope: dict[str, Any]
    timestamp: datetime

    @property
    def message_id(self) -> str:
        return str(self.envelope["MessageId"])

    @property
    def topic_arn(self) -> str:
        return str(self.envelope.get("TopicArn", ""))

    @property
    def attributes(self) -> dict[str, dict[str, str]]:
        attributes: dict[str, dict[str, str]] = self.envelope.get("MessageAttributes") or {}
        return attributes

    @property
    def pps_topic(self) -> str | None:
        return self.attributes.get("X-Pps-Topic", {}).get("Value")


def read_notification(line: str) -> Notification | None:
    """None when the line is no SNS notification."""
    try:
        envelope = json.loads(line)
        timestamp = datetime.fromisoformat(envelope["Timestamp"])
    except (ValueError, TypeError, KeyError):
        return None
    if not _is_notification(envelope):
        return None
    return Notification(envelope, timestamp.replace(tzinfo=UTC) if timestamp.tzinfo is None else timestamp)


def _is_notification(envelope: dict[str, Any]) -> bool:
    attributes = envelope.get("MessageAttributes") or {}
    return (
        envelope.get("Type") == "Notification"
        and bool(envelope.get("MessageId"))
        and isinstance(envelope.get("Message"), str)
        and isinstance(attributes, dict)
        and all(isinstance(value, dict) for value in attributes.values())
    )


def object_lines(data: bytes) -> list[str]:
    """The lines of an archive object, gunzipped when it is gzip (whatever its name says)."""
    if data[:2] == GZIP_MAGIC:
        data = gzip.decompress(data)
    return [line for line in data.decode("utf-8").splitlines() if line.strip()]


def window_keys(s3: S3Client, bucket: str, topic: str, window: Window) -> list[str]:
    """The objects of the window's date partitions, in order: one listing that starts at the first
    partition and stops after the last (dates sort as text), however many days are empty."""
    dates = window.partition_dates()
    prefix = topic_prefix(topic)
    keys: list[str] = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, StartAfter=f"{prefix}date={dates[0].isoformat()}"
    )
    for page in pages:
        for entry in page.get("Contents", []):
            day = partition_of(entry["Key"])
            if day is not None and day > dates[-1]:
                return keys
            if day is not None and dates[0] <= day:
                keys.append(entry["Key"])
    return keys


@dataclass
class Summary:
    topic: str
    window: Window
    source: str
    target: str
    dry_run: bool
    found: int = 0
    """In the window, of the topic: what is (or would be) sent."""
    sent: int = 0
    failed: int = 0
    outside_window: int = 0
    other_topic: int = 0
    duplicates: int = 0
    """The same MessageId again: SNS and Firehose deliver at least once."""
    unreadable: int = 0
    objects: int = 0
    first: str | None = None
    last: str | None = None
    reasons: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.unreadable == 0

    def lines(self) -> list[str]:
        skipped = self.outside_window + self.other_topic + self.duplicates
        lines = [
            f"Replay of {self.topic} from {_iso(self.window.since)} (inclusive) to {_iso(self.window.until)} "
            f"(exclusive): {self.source}, {self.objects} object{'s' if self.objects != 1 else ''} read",
            f"  found in window  {self.found}" + (f"  (first {self.first}, last {self.last})" if self.found else ""),
            f"  would send       {self.found}  to {self.target}  (dry run: nothing sent)"
            if self.dry_run
            else f"  sent             {self.sent}  to {self.target}",
            f"  failed           {self.failed}" + _reasons(self.reasons),
            f"  skipped          {skipped}  ({self.outside_window} outside the window, {self.other_topic} of "
            f"another topic, {self.duplicates} duplicate{'s' if self.duplicates != 1 else ''} in the archive)",
        ]
        if self.unreadable:
            lines.append(f"  unreadable       {self.unreadable}  (lines or objects that are no SNS notification)")
        lines += [f"Note: {note}" for note in self.notes]
        lines.append(IDEMPOTENCY_NOTE)
        return lines


def read_archive(
    s3: S3Client, bucket: str, topic: str, window: Window, summary: Summary, progress: TextIO | None = None
) -> list[Notification]:
    """The notifications of `topic` in the window, in timestamp order, each once; the rest counted in summary."""
    found: dict[str, Notification] = {}
    keys = window_keys(s3, bucket, topic, window)
    bar = Progress(len(keys), "archive objects read", progress)
    for key in keys:
        bar.advance()
        summary.objects += 1
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            lines = object_lines(body)
        except (OSError, EOFError, zlib.error, UnicodeDecodeError):
            summary.unreadable += 1
            summary.notes.append(f"s3://{bucket}/{key} is neither gzip nor UTF-8 text: not read")
            continue
        for line in lines:
            _sort(read_notification(line), topic, window, found, summary)
    bar.close()
    ordered = sorted(found.values(), key=lambda notification: notification.timestamp)
    summary.found = len(ordered)
    if ordered:
        summary.first, summary.last = ordered[0].envelope["Timestamp"], ordered[-1].envelope["Timestamp"]
    return ordered


def _sort(
    notification: Notification | None, topic: str, window: Window, found: dict[str, Notification], summary: Summary
) -> None:
    if notification is None:
        summary.unreadable += 1
    elif notification.pps_topic != topic:  # partition names fold "/" into "_": orders_placed shares one
        summary.other_topic += 1
    elif notification.timestamp not in window:
        summary.outside_window += 1
    elif notification.message_id in found:
        summary.duplicates += 1
    else:
        found[notification.message_id] = notification


# --- the targets ------------------------------------------------------------------------------------


class LambdaInvoker(Protocol):
    """The one call made on a Lambda client (boto3's, or a stand-in in tests)."""

    def invoke(
        self, *, FunctionName: str, InvocationType: Literal["Event", "RequestResponse", "DryRun"], Payload: bytes
    ) -> Mapping[str, Any]: ...


class StackReader(Protocol):
    def describe_stacks(self, *, StackName: str) -> Mapping[str, Any]: ...


class Target(Protocol):
    @property
    def description(self) -> str: ...

    def subscribed_by(self, endpoint: str) -> bool:
        """Whether an SNS subscription endpoint is this target."""
        ...

    def deliver(self, notifications: Sequence[Notification], subscriptions: Mapping[str, str]) -> Iterator[str | None]:
        """One result per notification, in order: None when delivered, else why not.
        `subscriptions`: topic ARN -> this target's subscription ARN."""
        ...


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

    def subscribed_by(self, endpoint: str) -> bool:
        return endpoint == self.queue_arn

    def deliver(self, notifications: Sequence[Notification], subscriptions: Mapping[str, str]) -> Iterator[str | None]:
        entries = [queue_entry(str(index), notification) for index, notification in enumerate(notifications)]
        for batch in batches(entries):
            yield from send_batch(self.sqs, self.queue_url, batch)


@dataclass(frozen=True)
class FunctionTarget:
    lambda_client: LambdaInvoker
    function: str
    """A name, or a (possibly qualified) ARN."""

    @property
    def description(self) -> str:
        return f"function {self.function}"

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


# --- subscriptions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    arn: str
    filter_policy: str | None


def find_subscription(sns: SNSClient, topic_arn: str, target: Target) -> Subscription | None:
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for subscription in page.get("Subscriptions", []):
            arn = subscription.get("SubscriptionArn", "")
            if arn.startswith("arn:") and target.subscribed_by(subscription.get("Endpoint", "")):
                attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
                return Subscription(arn, attributes.get("FilterPolicy") or None)
    return None


def check_subscriptions(sns: SNSClient, topic_arns: Sequence[str], target: Target, summary: Summary) -> dict[str, str]:
    """Topic ARN -> the target's subscription ARN; what an operator should know goes to summary.notes."""
    found: dict[str, str] = {}
    for topic_arn in topic_arns:
        try:
            subscription = find_subscription(sns, topic_arn, target)
        except (ClientError, BotoCoreError) as error:
            summary.notes.append(f"could not read the subscriptions of {topic_arn} ({reason_of(error)})")
            continue
        if subscription is None:
            summary.notes.append(f"{target.description} is not subscribed to {topic_arn}")
            continue
        found[topic_arn] = subscription.arn
        if subscription.filter_policy:
            summary.notes.append(
                f"{target.description} subscribes to {topic_arn} with a filter policy ({subscription.filter_policy}); "
                "a replay does not apply it: every webhook of the topic in the window is sent"
            )
    return found


# --- replay -------------------------------------------------------------------------------------------


def replay(
    *,
    s3: S3Client,
    bucket: str,
    topic: str,
    window: Window,
    target: Target,
    sns: SNSClient | None = None,
    dry_run: bool = False,
    progress: TextIO | None = None,
) -> Summary:
    """Send the archived notifications of `topic` in `window` to `target`, in timestamp order.

    `sns`, when given, is read (never published to) to find the target's subscription: its ARN goes into
    Lambda events, and a filter policy or a missing subscription is noted.
    """
    summary = Summary(topic, window, f"s3://{bucket}/{topic_prefix(topic)}", target.description, dry_run)
    found = read_archive(s3, bucket, topic, window, summary, progress)
    topic_arns = sorted({notification.topic_arn for notification in found})
    subscriptions = check_subscriptions(sns, topic_arns, target, summary) if sns is not None else {}
    if dry_run or not found:
        return summary
    ready = renew_bodies(s3, found, summary)
    bar = Progress(len(ready), "sent", progress)
    for failure in target.deliver(ready, subscriptions):
        if failure is None:
            summary.sent += 1
        else:
            summary.failed += 1
            summary.reasons[failure] += 1
        bar.advance()
    bar.close()
    return summary


def renew_bodies(s3: S3Client, notifications: Sequence[Notification], summary: Summary) -> list[Notification]:
    """The notifications to send: a claim-checked body is copied onto itself first, which restarts its
    lifecycle, so the body outlives the new pointer (in a queue, then maybe a dead-letter queue) by a full
    period. One whose body is gone is counted as failed, not sent as a pointer to nothing."""
    ready = []
    for notification in notifications:
        failure = renew_body(s3, notification.envelope)
        if failure is not None:
            summary.failed += 1
            summary.reasons[failure] += 1
            continue
        ready.append(notification)
    return ready


def renew_body(s3: S3Client, envelope: Mapping[str, Any]) -> str | None:
    """Copy the claim-checked body of an SNS notification onto itself (a new object for S3's lifecycle);
    None when that worked or there is no such body, else why not."""
    pointer = claim_check_pointer(envelope)
    if pointer is None:
        return None
    bucket, key = pointer
    try:
        s3.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": bucket, "Key": key},
            MetadataDirective="REPLACE",
            ContentType="application/octet-stream",
        )
    except (ClientError, BotoCoreError) as error:
        return f"claim-checked body {reason_of(error)}"
    return None


def claim_check_pointer(envelope: Mapping[str, Any]) -> tuple[str, str] | None:
    """(bucket, key) of a notification's claim-checked body; None for a body carried in the message."""
    if SIZE_ATTRIBUTE not in (envelope.get("MessageAttributes") or {}):
        return None
    try:
        _, location = json.loads(envelope["Message"])
        return str(location["s3BucketName"]), str(location["s3Key"])
    except (ValueError, TypeError, KeyError):
        return None


# --- the command line ------------------------------------------------------------------------------


def archive_bucket(cloudformation: StackReader, stack: str) -> str:
    stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    for output in stacks[0].get("Outputs", []) if stacks else []:
        if output.get("OutputKey") == BUCKET_OUTPUT:
            return str(output["OutputValue"])
    raise UsageError(f"stack {stack} has no {BUCKET_OUTPUT} output: set ARCHIVE_BUCKET=<bucket>")


@dataclass(frozen=True)
class Settings:
    topic: str
    window: Window
    target: str
    dry_run: bool
    bucket: str | None
    stack: str

    @classmethod
    def from_env(cls, env: Mapping[str, str], now: datetime | None = None) -> Settings:
        missing = [name for name in ("TOPIC", "SINCE", "TARGET") if not env.get(name, "").strip()]
        if missing:
            raise UsageError(
                f"{', '.join(missing)} required, e.g. TOPIC=orders/placed SINCE=2024-01-01 TARGET=<queue URL>"
            )
        until = parse_moment(env["UNTIL"], "UNTIL") if env.get("UNTIL", "").strip() else now or datetime.now(UTC)
        target = env["TARGET"].strip()
        if target.startswith("arn:aws:sqs:"):
            raise UsageError("TARGET: give the queue's URL (https://sqs...), not its ARN")
        return cls(
            topic=env["TOPIC"].strip(),
            window=Window(parse_moment(env["SINCE"], "SINCE"), until),
            target=target,
            dry_run=flag(env.get("DRY_RUN"), "DRY_RUN"),
            bucket=env.get("ARCHIVE_BUCKET", "").strip() or None,
            stack=env.get("STACK", "").strip() or DEFAULT_STACK,
        )


def connect_target(text: str) -> Target:
    if text.startswith(("https://", "http://")):
        return QueueTarget.connect(boto3.client("sqs", config=aws_config()), text)
    # Synchronous: the read must outlast the function's own timeout (at most 900 s).
    lambda_client: LambdaInvoker = boto3.client("lambda", config=aws_config(read_timeout=905))
    return FunctionTarget(lambda_client, text)


def main(env: Mapping[str, str] | None = None) -> int:
    try:
        settings = Settings.from_env(os.environ if env is None else env)
    except UsageError as error:
        say(f"make replay: {error}", error=True)
        return 2
    try:
        target = connect_target(settings.target)
        cloudformation: StackReader = boto3.client("cloudformation", config=aws_config())
        bucket = settings.bucket or archive_bucket(cloudformation, settings.stack)
        summary = replay(
            s3=boto3.client("s3", config=aws_config(read_timeout=60)),
            bucket=bucket,
            topic=settings.topic,
            window=settings.window,
            target=target,
            sns=boto3.client("sns", config=aws_config()),
            dry_run=settings.dry_run,
        )
    except UsageError as error:
        say(f"make replay: {error}", error=True)
        return 2
    except (ClientError, BotoCoreError) as error:
        say(f"make replay: {error}", error=True)
        return 1
    for line in summary.lines():
        say(line)
    return 0 if summary.ok else 1


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _reasons(reasons: Counter[str]) -> str:
    return f"  ({', '.join(f'{count} {reason}' for reason, count in reasons.most_common())})" if reasons else ""


if __name__ == "__main__":
    sys.exit(main())
