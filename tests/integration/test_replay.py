"""`make replay` over an archive in the exact Firehose format, in a moto bucket: only the in-window
notifications of the one topic reach the one target, with body and attributes intact, and nothing is
published to SNS."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from pps_ops.aws import aws_config
from pps_ops.lambda_events import sns_event
from pps_ops.replay.cli import main
from pps_ops.replay.replay import replay
from pps_ops.replay.summary import Summary
from pps_ops.replay.targets import FunctionTarget, QueueTarget
from pps_ops.replay.window import Window, parse_moment
from pps_webhooks.offload import pointer_message
from tests.support.aws_proxy import AwsProxy
from tests.support.lifecycle import expiration_days, expire
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment
from tools.devkit.emulator import ACCOUNT, REGION
from tools.devkit.events import sqs_event
from tools.devkit.paths import ROOT
from tools.devkit.template import load_template, resources_of_type

SINCE, UNTIL = "2024-01-01", "2024-01-03"
WINDOW = Window(parse_moment(SINCE), parse_moment(UNTIL))
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:OrdersPlacedFunction"


def notification(topic_arn: str, topic: str, timestamp: str, body: str, *, size: int | None = None) -> dict[str, Any]:
    """An SNS notification as SNS hands a non-raw subscriber (Firehose), one per archive line."""
    message_id = str(uuid.uuid4())
    attributes = {
        "X-Pps-Topic": {"Type": "String", "Value": topic},
        "X-Pps-Sub-Topic": {"Type": "String", "Value": "product:adv/adv-120"},
        "X-Pps-Tenant-Id": {"Type": "String", "Value": "OU1243"},
        "X-Pps-Webhook-Id": {"Type": "String", "Value": str(uuid.uuid4())},
        "X-Pps-Triggered-At": {"Type": "String", "Value": timestamp.replace("Z", "0000Z")},
    }
    if size is not None:
        attributes["ExtendedPayloadSize"] = {"Type": "Number", "Value": str(size)}
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Message": body,
        "Timestamp": timestamp,
        "SignatureVersion": "1",
        "Signature": "c2lnbmF0dXJl",
        "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}:1",
        "MessageAttributes": attributes,
    }


def order(order_id: str) -> str:
    return json.dumps({"orderId": order_id, "status": "placed", "quantity": 2})


@dataclass
class Archive:
    bucket: str
    expected: list[dict[str, Any]]
    """The notifications of orders/placed in the window, in timestamp order."""

    def put(
        self, stack: Deployment, topic: str, day: str, lines: Sequence[dict[str, Any] | str], *, gz: bool = True
    ) -> None:
        text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
        name = f"PPS-WebhookArchiveStream-1-{day}-10-00-00-{uuid.uuid4()}" + (".gz" if gz else "")
        key = f"webhooks/topic={topic.replace('/', '_')}/date={day}/{name}"
        data = gzip.compress(text.encode()) if gz else text.encode()
        stack.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)


def archive_bucket(stack: Deployment) -> str:
    return stack.refs["ArchiveBucket"]


@pytest.fixture
def archive(stack: Deployment) -> Archive:
    placed, updated = stack.refs["OrdersPlacedTopic"], stack.refs["OrdersUpdatedTopic"]
    big = json.dumps({"orderId": "R-2", "status": "placed", "blob": "x" * 300_000})
    key = f"payloads/OU1243/{uuid.uuid4()}"
    stack.client("s3").put_object(Bucket=stack.refs["PayloadBucket"], Key=key, Body=big.encode())

    first = notification(placed, "orders/placed", "2024-01-01T10:00:01.500Z", order("R-1"))
    offloaded = notification(
        placed,
        "orders/placed",
        "2024-01-01T12:00:00.000Z",
        pointer_message(stack.refs["PayloadBucket"], key),
        size=len(big),
    )
    third = notification(placed, "orders/placed", "2024-01-02T08:00:00.000Z", order("R-3"))
    # Published a millisecond before the window ends, archived after midnight: in the next day's partition.
    last = notification(placed, "orders/placed", "2024-01-02T23:59:59.999Z", order("R-4"))
    archive = Archive(archive_bucket(stack), [first, offloaded, third, last])

    day_before = notification(placed, "orders/placed", "2023-12-31T10:00:00.000Z", order("X-day-before"))
    before = notification(placed, "orders/placed", "2023-12-31T23:59:59.900Z", order("X-before"))
    at_until = notification(placed, "orders/placed", "2024-01-03T00:00:00.000Z", order("X-until"))
    later = notification(placed, "orders/placed", "2024-01-05T09:00:00.000Z", order("X-later"))
    folded = notification(placed, "orders_placed", "2024-01-02T09:00:00.000Z", order("X-folded"))
    other = notification(updated, "orders/updated", "2024-01-01T11:00:00.000Z", order("X-updated"))
    archive.put(stack, "orders/placed", "2023-12-31", [day_before])
    archive.put(stack, "orders/placed", "2024-01-01", [first, before])
    archive.put(stack, "orders/placed", "2024-01-01", [offloaded, first])  # Firehose delivered `first` twice
    archive.put(stack, "orders/placed", "2024-01-02", [third, folded], gz=False)
    archive.put(stack, "orders/placed", "2024-01-03", [last, at_until])
    archive.put(stack, "orders/placed", "2024-01-05", [later])
    archive.put(stack, "orders/updated", "2024-01-01", [other])
    return archive


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for _ in range(20):
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            break
        messages += batch
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]} for i, message in enumerate(batch)],
        )
    return messages


def as_raw_delivery(envelope: dict[str, Any]) -> tuple[str, dict[str, dict[str, str]]]:
    """What SNS raw delivery puts in an SQS queue: the message, and the attributes typed."""
    attributes = {
        name: {"DataType": value["Type"], "StringValue": value["Value"]}
        for name, value in envelope["MessageAttributes"].items()
    }
    return envelope["Message"], attributes


def test_the_in_window_webhooks_of_the_topic_reach_the_queue_as_raw_delivery_and_nothing_else(
    stack: Deployment, archive: Archive, aws_proxy: AwsProxy
) -> None:
    sqs = stack.client("sqs")

    summary = replay(
        s3=boto3.client("s3", endpoint_url=aws_proxy.url, region_name=REGION, config=aws_config()),
        bucket=archive.bucket,
        topic="orders/placed",
        window=WINDOW,
        target=QueueTarget.connect(sqs, stack.refs["OrdersPlacedQueue"]),
        sns=stack.client("sns"),
        progress=io.StringIO(),
    )

    received = drain(sqs, stack.refs["OrdersPlacedQueue"])
    assert sorted((m["Body"], m["MessageAttributes"]) for m in received) == sorted(
        as_raw_delivery(envelope) for envelope in archive.expected
    )
    assert (summary.found, summary.sent, summary.failed) == (4, 4, 0)
    assert (summary.outside_window, summary.other_topic, summary.duplicates, summary.unreadable) == (2, 1, 1, 0)
    # One listing, from the first partition to the last, and only their objects read
    assert (aws_proxy.count("s3.GetBucket"), aws_proxy.count("s3.GetObject"), summary.objects) == (1, 4, 4)
    assert (summary.first, summary.last) == ("2024-01-01T10:00:01.500Z", "2024-01-02T23:59:59.999Z")
    assert summary.ok
    # One consumer only: nothing went through SNS, nothing reached the other queue
    assert all(not published for published in stack.all_published().values())
    assert drain(sqs, stack.refs["OrdersUpdatedQueue"]) == []


def replay_command(moto_endpoint: str, **variables: str) -> Result:
    """What `make replay` runs, with these variables: the command, its settings read from the environment."""
    return CliRunner().invoke(main, env={"AWS_ENDPOINT_URL": moto_endpoint, **variables})


def test_a_dry_run_reads_and_counts_but_sends_nothing(stack: Deployment, archive: Archive, moto_endpoint: str) -> None:
    variables = {"TOPIC": "orders/placed", "SINCE": SINCE, "UNTIL": UNTIL, "TARGET": stack.refs["OrdersPlacedQueue"]}
    variables |= {"ARCHIVE_BUCKET": archive.bucket, "DRY_RUN": "1"}

    # The real `make replay`, as the README shows it
    result = subprocess.run(
        ["make", "--no-print-directory", "replay", *(f"{name}={value}" for name, value in variables.items())],
        cwd=ROOT,
        env={**os.environ, "AWS_ENDPOINT_URL": moto_endpoint},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "would send       4" in result.stdout
    assert "dry run: nothing sent" in result.stdout
    assert result.stdout.count("idempotent") == 1
    assert stack.queue_depth("OrdersPlacedQueue") == 0


def test_the_same_settings_work_as_options(stack: Deployment, archive: Archive, moto_endpoint: str) -> None:
    target, bucket = stack.refs["OrdersPlacedQueue"], archive.bucket
    options = f"--topic orders/placed --since {SINCE} --until {UNTIL} --target {target} --archive-bucket {bucket}"

    result = CliRunner().invoke(main, [*options.split(), "--dry-run"], env={"AWS_ENDPOINT_URL": moto_endpoint})

    assert result.exit_code == 0, result.output
    assert "would send       4" in result.output
    assert stack.queue_depth("OrdersPlacedQueue") == 0


@pytest.mark.parametrize(
    ("variables", "error"),
    [
        ({"SINCE": SINCE, "TARGET": "Fn"}, "Missing option '--topic' / TOPIC"),
        ({"TOPIC": "orders/placed", "SINCE": "last tuesday", "TARGET": "Fn"}, "'--since' / SINCE"),
        ({"TOPIC": "orders/placed", "SINCE": UNTIL, "UNTIL": SINCE, "TARGET": "Fn"}, "must be before UNTIL"),
        ({"TOPIC": "orders/placed", "SINCE": SINCE, "TARGET": "arn:aws:sqs:us-east-1:1:Q"}, "not its ARN"),
        ({"TOPIC": "orders/placed", "SINCE": SINCE, "TARGET": "Fn", "DRY_RUN": "maybe"}, "'--dry-run' / DRY_RUN"),
    ],
)
def test_a_wrong_setting_is_a_usage_error_that_names_it(
    moto_endpoint: str, variables: dict[str, str], error: str
) -> None:
    result = replay_command(moto_endpoint, **variables)

    assert result.exit_code == 2
    assert error in result.output


def test_the_archive_bucket_comes_from_the_stack_output_when_not_given(
    stack: Deployment, archive: Archive, moto_endpoint: str
) -> None:
    # The stack pps-webhooks, with its ArchiveBucketName output, is the one the fixture deployed.

    result = replay_command(
        moto_endpoint, TOPIC="orders/placed", SINCE=SINCE, UNTIL=UNTIL, TARGET=stack.refs["OrdersPlacedQueue"]
    )

    assert result.exit_code == 0, result.output
    assert f"s3://{archive.bucket}/webhooks/topic=orders_placed/" in result.output
    assert stack.queue_depth("OrdersPlacedQueue") == 4


class SandboxLambda:
    """Stands in for the Lambda client, the one stand-in here: moto cannot run functions without Docker.
    It runs the real handler in-process as Lambda would (a synchronous invoke) and records each event."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.events: list[dict[str, Any]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        assert InvocationType == "RequestResponse"
        event = json.loads(Payload)
        self.events.append(event)
        try:
            result = self.sandbox.handle(event)
        except Exception as error:  # as Lambda: an unhandled exception is a FunctionError
            failure = {"errorType": type(error).__name__, "errorMessage": str(error)}
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(failure).encode()),
            }
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}


def test_a_function_gets_the_exact_sns_event_and_a_function_error_counts_as_failed(
    stack: Deployment, archive: Archive, new_sandbox: Callable[..., Sandbox]
) -> None:
    sns = stack.client("sns")
    subscription_arn = sns.subscribe(
        TopicArn=stack.refs["OrdersPlacedTopic"],
        Protocol="lambda",
        Endpoint=FUNCTION_ARN,
        Attributes={"FilterPolicy": json.dumps({"X-Pps-Sub-Topic": [{"prefix": "product:adv/"}]})},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    broken = notification(stack.refs["OrdersPlacedTopic"], "orders/placed", "2024-01-02T12:00:00.000Z", "not json")
    archive.put(stack, "orders/placed", "2024-01-02", [broken])
    function = SandboxLambda(new_sandbox("OrdersPlacedFunction"))

    summary = replay(
        s3=stack.client("s3"),
        bucket=archive.bucket,
        topic="orders/placed",
        window=WINDOW,
        target=FunctionTarget(function, "OrdersPlacedFunction"),
        sns=sns,
        progress=io.StringIO(),
    )

    in_order = [archive.expected[0], archive.expected[1], archive.expected[2], broken, archive.expected[3]]
    assert function.events == [sns_event(envelope, subscription_arn) for envelope in in_order]
    assert (summary.found, summary.sent, summary.failed) == (5, 4, 1)
    assert summary.reasons == {"FunctionError MalformedDelivery": 1}
    assert not summary.ok
    assert any("filter policy" in note for note in summary.notes)
    orders = {item["orderId"] for item in stack.items("OrdersTable")}
    assert orders == {"R-1", "R-2", "R-3", "R-4"}  # R-2 read back from its offload


def test_a_queue_that_refuses_the_batches_counts_every_webhook_as_failed(
    stack: Deployment, archive: Archive, aws_proxy: AwsProxy
) -> None:
    sqs = boto3.client("sqs", endpoint_url=aws_proxy.url, region_name=REGION, config=aws_config())
    aws_proxy.fail("sqs.SendMessageBatch")

    summary = replay(
        s3=stack.client("s3"),
        bucket=archive.bucket,
        topic="orders/placed",
        window=WINDOW,
        target=QueueTarget.connect(sqs, stack.refs["OrdersPlacedQueue"]),
        progress=io.StringIO(),
    )

    assert (summary.found, summary.sent, summary.failed) == (4, 0, 4)
    assert not summary.ok
    assert aws_proxy.count("sqs.SendMessageBatch") == 3  # the SDK's bounded retries, then counted as failed
    assert stack.queue_depth("OrdersPlacedQueue") == 0


@pytest.mark.parametrize(
    ("since", "until", "utc_since", "days"),
    [
        ("2024-01-01", "2024-01-03", "2024-01-01T00:00:00", ["2024-01-01", "2024-01-02", "2024-01-03"]),
        ("2024-01-01T10:00:00Z", "2024-01-01T12:00:00+00:00", "2024-01-01T10:00:00", ["2024-01-01", "2024-01-02"]),
        ("2024-01-01T23:30:00-01:00", "2024-01-02T06:00:00", "2024-01-02T00:30:00", ["2024-01-02", "2024-01-03"]),
    ],
)
def test_only_the_windows_utc_arrival_dates_are_read_and_the_day_after(
    since: str, until: str, utc_since: str, days: list[str]
) -> None:
    window = Window(parse_moment(since), parse_moment(until))

    assert window.since == datetime.fromisoformat(utc_since).replace(tzinfo=UTC)
    assert window.partition_dates() == [date.fromisoformat(day) for day in days]


def replay_to_consumer_queue(stack: Deployment, archive: Archive) -> Summary:
    return replay(
        s3=stack.client("s3"),
        bucket=archive.bucket,
        topic="orders/placed",
        window=WINDOW,
        target=QueueTarget.connect(stack.client("sqs"), stack.refs["OrdersPlacedQueue"]),
        progress=io.StringIO(),
    )


def test_an_archived_offloaded_webhook_replayed_long_after_the_duplicate_window_has_its_body(
    stack: Deployment, archive: Archive, new_sandbox: Callable[..., Sandbox]
) -> None:
    # Given a month has passed: far beyond RetentionDays (7), within the archive's retention
    assert not expire(stack, "PayloadBucket", after=timedelta(days=30))

    # When the archive is replayed to the consumer's queue, and the consumer takes it from there
    summary = replay_to_consumer_queue(stack, archive)
    received = drain(stack.client("sqs"), stack.refs["OrdersPlacedQueue"])
    result = new_sandbox("OrdersPlacedFunction").handle(
        sqs_event(received, "arn:aws:sqs:us-east-1:1:OrdersPlacedQueue")
    )

    # Then the offloaded order was read back from its body
    assert summary.ok
    assert result == {"batchItemFailures": []}
    (big,) = [item for item in stack.items("OrdersTable") if item["orderId"] == "R-2"]
    assert big["blob"] == "x" * 300_000


def test_every_place_a_pointer_lives_is_outlived_by_its_body(stack: Deployment) -> None:
    """Queues and dead-letter queues hold a pointer up to 14 days (28 with a redrive by hand); the archive for its
    retention from when its line was written: up to a day after the body (Firehose buffers across midnight), or
    up to 14 days after (re-archived from its dead-letter queue)."""
    queue_days = max(
        int(queue["Properties"].get("MessageRetentionPeriod", 345_600)) // 86_400
        for queue in resources_of_type(load_template(), "AWS::SQS::Queue").values()
    )
    body_days, archive_days = expiration_days("PayloadBucket"), expiration_days("ArchiveBucket")
    assert body_days >= archive_days + queue_days + 1
    assert body_days >= 2 * queue_days
    minimum = load_template()["Parameters"]["PayloadRetentionDays"]["MinValue"]
    assert expiration_days("PayloadBucket", {"PayloadRetentionDays": str(minimum)}) >= 2 * queue_days


def test_a_replay_renews_the_offloaded_bodies_it_sends(stack: Deployment, archive: Archive) -> None:
    s3, bucket = stack.client("s3"), stack.refs["PayloadBucket"]
    (key,) = [entry["Key"] for entry in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    before = s3.head_object(Bucket=bucket, Key=key)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    time.sleep(1.1)  # S3 times have one-second resolution

    replay_to_consumer_queue(stack, archive)

    after = s3.head_object(Bucket=bucket, Key=key)
    assert after["LastModified"] > before["LastModified"]  # its lifecycle starts again from the replay
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body


def test_a_pointer_whose_body_is_gone_is_counted_failed_not_sent(stack: Deployment, archive: Archive) -> None:
    s3, bucket = stack.client("s3"), stack.refs["PayloadBucket"]
    for entry in s3.list_objects_v2(Bucket=bucket)["Contents"]:
        s3.delete_object(Bucket=bucket, Key=entry["Key"])

    summary = replay_to_consumer_queue(stack, archive)

    assert (summary.found, summary.sent, summary.failed) == (4, 3, 1)
    assert summary.reasons == {"offloaded body NoSuchKey": 1}
    assert not summary.ok
