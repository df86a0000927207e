"""`make replay` over an archive in the exact Firehose format, in a moto bucket: only the in-window
notifications of the one topic (and of the tenant, sub-topic and webhook ids asked for) reach the one target,
with body and attributes intact, at the rate asked, each once across an interrupted run and the same command again;
the plan is printed first, and nothing is published to SNS."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from pps_ops.aws import aws_config
from pps_ops.lambda_events import sns_event
from pps_ops.replay.checkpoint import Checkpoint
from pps_ops.replay.cli import main
from pps_ops.replay.pacing import Pacer
from pps_ops.replay.replay import replay
from pps_ops.replay.summary import Summary
from pps_ops.replay.targets import FunctionTarget, QueueTarget
from pps_ops.replay.window import Window, parse_moment
from pps_webhooks.offload import pointer_message
from tests.support.aws_proxy import AwsProxy
from tests.support.lifecycle import expiration_days, expire
from tests.support.make import make as run_make
from tests.support.make import with_ctrl_c
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment
from tools.devkit.emulator import ACCOUNT, REGION
from tools.devkit.events import sqs_event
from tools.devkit.paths import ROOT
from tools.devkit.template import load_template, resources_of_type

SINCE, UNTIL = "2024-01-01", "2024-01-03"
WINDOW = Window(parse_moment(SINCE), parse_moment(UNTIL))
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:OrdersPlacedFunction"


def notification(
    topic_arn: str,
    topic: str,
    timestamp: str,
    body: str,
    *,
    size: int | None = None,
    tenant: str = "OU1243",
    sub_topic: str = "product:adv/adv-120",
) -> dict[str, Any]:
    """An SNS notification as SNS hands a non-raw subscriber (Firehose), one per archive line."""
    message_id = str(uuid.uuid4())
    attributes = {
        "X-Pps-Topic": {"Type": "String", "Value": topic},
        "X-Pps-Sub-Topic": {"Type": "String", "Value": sub_topic},
        "X-Pps-Tenant-Id": {"Type": "String", "Value": tenant},
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
    others: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The notifications archived beside them, by their order id."""

    def put(
        self, stack: Deployment, topic: str, day: str, lines: Sequence[dict[str, Any] | str], *, gz: bool = True
    ) -> None:
        text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
        name = f"PPS-WebhookArchiveStream-1-{day}-10-00-00-{uuid.uuid4()}" + (".gz" if gz else "")
        key = f"webhooks/topic={topic.replace('/', '_')}/date={day}/{name}"
        data = gzip.compress(text.encode()) if gz else text.encode()
        stack.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)


@pytest.fixture(autouse=True)
def _in_a_directory_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A replay writes its checkpoint under .replay/ where it runs: here, not in the repository."""
    monkeypatch.chdir(tmp_path)


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
    archive.others = {"X-later": later, "X-before": before, "X-until": at_until}
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


def make_replay(moto_endpoint: str, variables: dict[str, str], **options: Any) -> subprocess.CompletedProcess[str]:
    """The real `make replay`, as the README shows it, with these variables."""
    return run_make("replay", moto_endpoint, variables, **options)


def test_a_dry_run_prints_the_plan_per_topic_and_day_and_sends_nothing(
    stack: Deployment, archive: Archive, moto_endpoint: str
) -> None:
    # Given another tenant's webhook among them
    other_tenant = notification(
        stack.refs["OrdersPlacedTopic"], "orders/placed", "2024-01-02T09:30:00.000Z", order("T-2000"), tenant="OU2000"
    )
    archive.put(stack, "orders/placed", "2024-01-02", [other_tenant])
    variables = {"TOPIC": "orders/placed", "SINCE": SINCE, "UNTIL": UNTIL, "TARGET": stack.refs["OrdersPlacedQueue"]}
    variables |= {"ARCHIVE_BUCKET": archive.bucket, "TENANT": "OU1243", "DRY_RUN": "1"}

    result = make_replay(moto_endpoint, variables)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    plan = lines.index("Plan: the webhooks the filters select, per topic and UTC day published")
    assert lines[plan + 1 : plan + 6] == [
        "  topic          date        count",
        "  orders/placed  2024-01-01      2",
        "  orders/placed  2024-01-02      2",
        "  total                          4",
        f"would send 4 to queue {stack.refs['OrdersPlacedQueue']}",
    ]
    assert plan < lines.index(next(line for line in lines if line.startswith("Replay of orders/placed")))
    assert "  found in window  4  matching TENANT=OU1243  (first" in result.stdout
    assert "would send       4" in result.stdout
    assert "dry run: nothing sent" in result.stdout
    assert "1 of another tenant" in result.stdout
    assert result.stdout.count("idempotent") == 1
    assert stack.queue_depth("OrdersPlacedQueue") == 0
    (checkpoint,) = [line.split()[1] for line in lines if line.startswith("  checkpoint ")]
    assert checkpoint.startswith(".replay/orders_placed-")
    assert not (ROOT / checkpoint).exists()  # a dry run records nothing


def test_the_same_settings_work_as_options(stack: Deployment, archive: Archive, moto_endpoint: str) -> None:
    target, bucket = stack.refs["OrdersPlacedQueue"], archive.bucket
    options = f"--topic orders/placed --since {SINCE} --until {UNTIL} --target {target} --archive-bucket {bucket}"
    ids = ",".join(envelope["MessageAttributes"]["X-Pps-Webhook-Id"]["Value"] for envelope in archive.expected)
    options += f" --tenant OU1243 --sub-topic-prefix product:adv/ --webhook-ids {ids} --rate 0.5 --checkpoint x.sent"

    result = CliRunner().invoke(
        main, [*options.split(), "--restart", "--dry-run"], env={"AWS_ENDPOINT_URL": moto_endpoint}
    )

    assert result.exit_code == 0, result.output
    assert "matching TENANT=OU1243, SUB_TOPIC_PREFIX=product:adv/, WEBHOOK_IDS (4 ids)" in result.output
    assert "would send       4" in result.output
    assert "  checkpoint       x.sent  (nothing sent yet)" in result.output
    assert stack.queue_depth("OrdersPlacedQueue") == 0


@pytest.mark.parametrize(
    ("variables", "error"),
    [
        ({"SINCE": SINCE, "TARGET": "Fn"}, "Missing option '--topic' / TOPIC"),
        ({"TOPIC": "orders/placed", "SINCE": "last tuesday", "TARGET": "Fn"}, "'--since' / SINCE"),
        ({"TOPIC": "orders/placed", "SINCE": UNTIL, "UNTIL": SINCE, "TARGET": "Fn"}, "must be before UNTIL"),
        ({"TOPIC": "orders/placed", "SINCE": SINCE, "TARGET": "arn:aws:sqs:us-east-1:1:Q"}, "not its ARN"),
        ({"TOPIC": "orders/placed", "SINCE": SINCE, "TARGET": "Fn", "DRY_RUN": "maybe"}, "'--dry-run' / DRY_RUN"),
        ({"TOPIC": "orders/placed", "SINCE": "2024-01-01 25:00", "TARGET": "Fn"}, "'--since' / SINCE"),
        ({"TOPIC": "orders/placed", "SINCE": SINCE, "TARGET": "Fn", "RATE": "0"}, "'--rate' / RATE"),
        ({"TOPIC": "orders/placed", "SINCE": SINCE, "TARGET": "Fn", "WEBHOOK_IDS": " , "}, "no webhook id given"),
        ({"TOPIC": "orders/placed", "SINCE": SINCE, "TARGET": "Fn", "WEBHOOK_IDS": "@nowhere.txt"}, "cannot read"),
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


def queue_variables(stack: Deployment, archive: Archive, **variables: str) -> dict[str, str]:
    given = {"TOPIC": "orders/placed", "SINCE": SINCE, "UNTIL": UNTIL, "TARGET": stack.refs["OrdersPlacedQueue"]}
    return given | {"ARCHIVE_BUCKET": archive.bucket} | variables


def bodies(messages: Sequence[dict[str, Any]]) -> list[str]:
    return sorted(message["Body"] for message in messages)


def messages_of(*envelopes: dict[str, Any]) -> list[str]:
    return sorted(envelope["Message"] for envelope in envelopes)


@pytest.mark.parametrize(
    ("variables", "selected", "skipped"),
    [
        ({"TENANT": "OU2000"}, ["T-2000"], "5 of another tenant, 0 already sent per the checkpoint)"),
        ({"SUB_TOPIC_PREFIX": "product:std/"}, ["S-std"], "5 of another sub-topic, 0 already sent per the checkpoint)"),
        (
            {"TENANT": "OU1243", "SUB_TOPIC_PREFIX": "product:adv/"},
            ["R-1", "R-2", "R-3", "R-4"],
            "1 of another tenant, 1 of another sub-topic, 0 already sent per the checkpoint)",
        ),
    ],
)
def test_only_the_webhooks_of_the_tenant_and_sub_topic_asked_for_are_sent(
    stack: Deployment,
    archive: Archive,
    moto_endpoint: str,
    variables: dict[str, str],
    selected: list[str],
    skipped: str,
) -> None:
    # Given, beside the four of OU1243 under product:adv/, one of another tenant and one of another sub-topic
    placed = stack.refs["OrdersPlacedTopic"]
    beside = {
        "T-2000": notification(placed, "orders/placed", "2024-01-01T11:00:00.000Z", order("T-2000"), tenant="OU2000"),
        "S-std": notification(
            placed, "orders/placed", "2024-01-01T11:30:00.000Z", order("S-std"), sub_topic="product:std/std-1"
        ),
    }
    archive.put(stack, "orders/placed", "2024-01-01", list(beside.values()))
    by_order = {f"R-{index}": envelope for index, envelope in enumerate(archive.expected, start=1)} | beside

    result = replay_command(moto_endpoint, **queue_variables(stack, archive, **variables))

    assert result.exit_code == 0, result.output
    received = drain(stack.client("sqs"), stack.refs["OrdersPlacedQueue"])
    assert bodies(received) == messages_of(*(by_order[name] for name in selected))
    assert f"  sent             {len(selected)}  to queue" in result.output
    assert f"(2 outside the window, 1 of another topic, 1 duplicate in the archive, {skipped}" in result.output


def test_only_the_webhook_ids_asked_for_are_sent_and_those_not_in_the_window_are_named(
    stack: Deployment, archive: Archive, moto_endpoint: str, tmp_path: Path
) -> None:
    def id_of(envelope: dict[str, Any]) -> str:
        return str(envelope["MessageAttributes"]["X-Pps-Webhook-Id"]["Value"])

    # Given a list of ids from an incident: two in the window, one a few days later, one PPS never sent
    first, third, later = archive.expected[0], archive.expected[2], archive.others["X-later"]
    listing = tmp_path / "ids.txt"
    listing.write_text(f"# INC-42\n{id_of(first)}\n\n{id_of(third)}  # the retry\n{id_of(later)}\nno-such-id\n")

    result = replay_command(moto_endpoint, **queue_variables(stack, archive, WEBHOOK_IDS="@ids.txt"))

    # Then those two are sent, and the operator learns which ids were not there (and that not all was done)
    assert result.exit_code == 1, result.output
    assert bodies(drain(stack.client("sqs"), stack.refs["OrdersPlacedQueue"])) == messages_of(first, third)
    assert "  found in window  2  matching WEBHOOK_IDS (4 ids)" in result.output
    assert "2 not in WEBHOOK_IDS" in result.output
    missing = sorted([id_of(later), "no-such-id"])
    assert (
        f"Note: 2 of the 4 WEBHOOK_IDS are not in the archive of orders/placed in the window: "
        f"{', '.join(missing)}" in result.output
    )


def test_an_id_asked_for_that_another_filter_leaves_out_is_named_not_silently_dropped(
    stack: Deployment, archive: Archive, moto_endpoint: str
) -> None:
    # Given an id of tenant OU2000 in the window, asked for with TENANT=OU1243 beside one of OU1243
    placed = stack.refs["OrdersPlacedTopic"]
    theirs = notification(placed, "orders/placed", "2024-01-01T11:00:00.000Z", order("T-2000"), tenant="OU2000")
    archive.put(stack, "orders/placed", "2024-01-01", [theirs])
    ours = archive.expected[0]
    ids = [str(envelope["MessageAttributes"]["X-Pps-Webhook-Id"]["Value"]) for envelope in (ours, theirs)]

    result = replay_command(
        moto_endpoint, **queue_variables(stack, archive, TENANT="OU1243", WEBHOOK_IDS=",".join(ids))
    )

    # Then only OU1243's is sent, and the other is named with the filter that left it out: not all was done
    assert result.exit_code == 1, result.output
    assert bodies(drain(stack.client("sqs"), stack.refs["OrdersPlacedQueue"])) == messages_of(ours)
    assert f"Note: 1 of the WEBHOOK_IDS is in the window but left out by TENANT=OU1243: {ids[1]}" in result.output
    assert "not in the archive of orders/placed" not in result.output


def test_a_window_to_the_minute_is_compared_with_when_sns_published_each_webhook(
    stack: Deployment, archive: Archive, moto_endpoint: str
) -> None:
    # The window starts a second and a half before the first, and ends at the third to the millisecond.
    variables = queue_variables(stack, archive, SINCE="2024-01-01 10:00", UNTIL="2024-01-02T08:00Z")

    result = replay_command(moto_endpoint, **variables)

    assert result.exit_code == 0, result.output
    assert bodies(drain(stack.client("sqs"), stack.refs["OrdersPlacedQueue"])) == messages_of(*archive.expected[:2])
    assert "Replay of orders/placed from 2024-01-01T10:00:00Z (inclusive) to 2024-01-02T08:00:00Z" in result.output
    # before (23:59:59.900 the day before), the third (08:00:00.000), the last and the one at the old UNTIL
    assert "(4 outside the window, 1 of another topic, 1 duplicate in the archive" in result.output


def replay_six(stack: Deployment, archive: Archive, pacer: Pacer | None) -> tuple[float, Summary]:
    started = time.monotonic()
    summary = replay(
        s3=stack.client("s3"),
        bucket=archive.bucket,
        topic="orders/placed",
        window=WINDOW,
        target=QueueTarget.connect(stack.client("sqs"), stack.refs["OrdersPlacedQueue"]),
        progress=io.StringIO(),
        pacer=pacer,
    )
    return time.monotonic() - started, summary


def test_a_rate_spaces_the_sends_and_without_it_they_go_as_fast_as_the_queue_takes_them(
    stack: Deployment, archive: Archive
) -> None:
    placed = stack.refs["OrdersPlacedTopic"]
    more = [
        notification(placed, "orders/placed", f"2024-01-02T{hour}:00:00.000Z", order(f"R-{hour}"))
        for hour in ("15", "16")
    ]
    archive.put(stack, "orders/placed", "2024-01-02", more)

    unpaced, as_fast = replay_six(stack, archive, None)
    paced, at_ten = replay_six(stack, archive, Pacer(10))

    assert (as_fast.sent, at_ten.sent) == (6, 6)
    assert paced >= 0.5  # the sixth no sooner than 5/10 s after the first
    assert unpaced < paced - 0.3
    assert len(drain(stack.client("sqs"), stack.refs["OrdersPlacedQueue"])) == 12


class CtrlCWhileWaiting:
    """The sleep of a Pacer that returns at once, and raises KeyboardInterrupt (as Ctrl-C does) on its `nth` call."""

    def __init__(self, nth: int) -> None:
        self.nth, self.calls = nth, 0

    def __call__(self, seconds: float) -> None:
        self.calls += 1
        if self.calls == self.nth:
            raise KeyboardInterrupt


def test_a_replay_interrupted_after_two_sends_resumes_with_the_rest_and_sends_none_twice(
    stack: Deployment, archive: Archive, tmp_path: Path
) -> None:
    identity = {"topic": "orders/placed", "target": stack.refs["OrdersPlacedQueue"]}
    path = tmp_path / "orders.sent"

    def run(pacer: Pacer | None) -> Summary:
        return replay(
            s3=stack.client("s3"),
            bucket=archive.bucket,
            topic="orders/placed",
            window=WINDOW,
            target=QueueTarget.connect(stack.client("sqs"), stack.refs["OrdersPlacedQueue"]),
            progress=io.StringIO(),
            checkpoint=Checkpoint.load(path, identity),
            pacer=pacer,
        )

    # When Ctrl-C comes while the third waits for its turn (one a second: no wait for the first)
    interrupted = run(Pacer(1, sleep=CtrlCWhileWaiting(2)))
    # and the same replay runs again
    resumed = run(None)

    assert (interrupted.sent, interrupted.interrupted, interrupted.ok) == (2, True, False)
    assert "  not sent         2  (interrupted: run the same command again to send the rest)" in interrupted.lines()
    assert (resumed.already_sent, resumed.sent, resumed.ok) == (2, 2, True)
    assert "4 already sent per the checkpoint" not in "\n".join(resumed.lines())
    assert "2 already sent per the checkpoint" in "\n".join(resumed.lines())
    # Then each webhook arrived once
    received = drain(stack.client("sqs"), stack.refs["OrdersPlacedQueue"])
    assert bodies(received) == messages_of(*archive.expected)
    assert len(received) == 4


def test_ctrl_c_on_make_replay_then_the_same_command_again_delivers_each_webhook_once(
    stack: Deployment, archive: Archive, moto_endpoint: str, tmp_path: Path
) -> None:
    variables = queue_variables(stack, archive, RATE="0.5", CHECKPOINT=str(tmp_path / "orders.sent"))
    command = ["make", "--no-print-directory", "replay", *(f"{name}={value}" for name, value in variables.items())]
    environment = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint}
    # One every 2 s: Ctrl-C once the first has landed leaves 2 s before the second, even on a loaded machine.
    running = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=with_ctrl_c,
    )
    try:
        deadline = time.monotonic() + 60
        while stack.queue_depth("OrdersPlacedQueue") < 1 and running.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(running.pid, signal.SIGINT)  # Ctrl-C in the terminal: make and the replay alike
        stdout, _ = running.communicate(timeout=60)
    finally:
        if running.poll() is None:
            os.killpg(running.pid, signal.SIGKILL)
            running.wait()
    first = int(re.search(r"^  sent +(\d+)", stdout, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert 0 < first < 4, stdout
    assert "interrupted: run the same command again to send the rest" in stdout

    again = make_replay(moto_endpoint, variables)

    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{first} already sent per the checkpoint" in again.stdout
    assert f"  sent             {4 - first}  to queue" in again.stdout
    assert f"  checkpoint       {tmp_path / 'orders.sent'}  (4 sent recorded" in again.stdout
    received = drain(stack.client("sqs"), stack.refs["OrdersPlacedQueue"])
    assert bodies(received) == messages_of(*archive.expected)
    assert len(received) == 4


def test_the_same_command_after_a_completed_replay_sends_nothing_and_restart_sends_all_again(
    stack: Deployment, archive: Archive, moto_endpoint: str, tmp_path: Path
) -> None:
    variables = queue_variables(stack, archive)

    done = replay_command(moto_endpoint, **variables)
    again = replay_command(moto_endpoint, **variables)
    restarted = replay_command(moto_endpoint, **variables, RESTART="1")

    assert [result.exit_code for result in (done, again, restarted)] == [0, 0, 0], again.output
    (checkpoint,) = (tmp_path / ".replay").glob("*.sent")  # where it ran, named for the topic and the replay
    assert checkpoint.name.startswith("orders_placed-")
    assert f"  checkpoint       .replay/{checkpoint.name}  (4 sent recorded" in done.output
    assert "  sent             0  to queue" in again.output
    assert "4 already sent per the checkpoint" in again.output
    assert "  sent             4  to queue" in restarted.output
    assert len(drain(stack.client("sqs"), stack.refs["OrdersPlacedQueue"])) == 8


def test_the_checkpoint_of_another_replay_is_a_usage_error(
    stack: Deployment, archive: Archive, moto_endpoint: str, tmp_path: Path
) -> None:
    checkpoint = str(tmp_path / "orders.sent")
    assert replay_command(moto_endpoint, **queue_variables(stack, archive, CHECKPOINT=checkpoint)).exit_code == 0

    result = replay_command(moto_endpoint, **queue_variables(stack, archive, CHECKPOINT=checkpoint, TENANT="OU1243"))

    assert result.exit_code == 2
    assert "is of another replay (another tenant): give RESTART=1 to start it over, or another CHECKPOINT" in (
        result.output
    )
    assert stack.queue_depth("OrdersPlacedQueue") == 4


def test_after_an_aws_failure_the_same_replay_sends_only_what_failed(
    stack: Deployment, archive: Archive, aws_proxy: AwsProxy, tmp_path: Path
) -> None:
    sqs = boto3.client("sqs", endpoint_url=aws_proxy.url, region_name=REGION, config=aws_config())
    identity = {"topic": "orders/placed", "target": stack.refs["OrdersPlacedQueue"]}

    def run() -> Summary:
        return replay(
            s3=stack.client("s3"),
            bucket=archive.bucket,
            topic="orders/placed",
            window=WINDOW,
            target=QueueTarget.connect(sqs, stack.refs["OrdersPlacedQueue"]),
            progress=io.StringIO(),
            checkpoint=Checkpoint.load(tmp_path / "orders.sent", identity),
            pacer=Pacer(1, sleep=lambda seconds: None),  # one webhook a batch, without the waiting
        )

    # Given SQS fails the first batch, and the SDK's retries of it
    aws_proxy.fail("sqs.SendMessageBatch", times=3)
    failed_once = run()
    again = run()

    assert (failed_once.sent, failed_once.failed, failed_once.ok) == (3, 1, False)
    assert (again.already_sent, again.sent, again.failed, again.ok) == (3, 1, 0, True)
    received = drain(stack.client("sqs"), stack.refs["OrdersPlacedQueue"])
    assert bodies(received) == messages_of(*archive.expected)
    assert len(received) == 4
