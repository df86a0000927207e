"""`make redrive` against the template's queues in moto: parked messages go back to their source queue
with body and attributes intact, and nothing leaves the dead-letter queue before it is safely re-sent."""

from __future__ import annotations

import io
import json
import time
import uuid
from typing import Any

import boto3
import click
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from pps_ops.aws import aws_config
from pps_ops.redrive.archive_stream import ArchiveStream
from pps_ops.redrive.cli import main
from pps_ops.redrive.functions import AsyncFunction
from pps_ops.redrive.move_task import start_move_task
from pps_ops.redrive.redrive import redrive
from pps_ops.redrive.summary import Summary as RedriveSummary
from pps_webhooks.deliveries import PayloadStore, read_delivery
from pps_webhooks.offload import pointer_message
from tests.support.aws_proxy import AwsProxy
from tests.support.stack import Deployment
from tools.devkit.emulator import REGION
from tools.devkit.events import pps_headers, topic_event

QUEUE, DLQ = "OrdersPlacedQueue", "OrdersPlacedDeadLetterQueue"


def operator_sqs(endpoint: str) -> Any:
    """An SQS client configured as `make redrive` configures its own (timeouts, bounded retries)."""
    return boto3.client("sqs", endpoint_url=endpoint, region_name=REGION, config=aws_config())


def attributes(webhook_id: str) -> dict[str, dict[str, str]]:
    values = pps_headers(topic="orders/placed", webhook_id=webhook_id, triggered_at="2024-01-1T10:00:00.7777748Z")
    typed = {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}
    return {**typed, "ExtendedPayloadSize": {"DataType": "Number", "StringValue": "300000"}}


def park(stack: Deployment, count: int) -> list[tuple[str, dict[str, dict[str, str]]]]:
    """Messages parked by the queue's own redrive policy: received until maxReceiveCount moves them."""
    sqs = stack.client("sqs")
    parked = [(json.dumps({"orderId": f"P-{n}"}), attributes(str(uuid.uuid4()))) for n in range(count)]
    for body, message_attributes in parked:
        sqs.send_message(QueueUrl=stack.refs[QUEUE], MessageBody=body, MessageAttributes=message_attributes)
    for _ in range(int(stack.parameters.get("ConsumerMaxReceiveCount", 5)) + 2):
        sqs.receive_message(QueueUrl=stack.refs[QUEUE], MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert stack.queue_depth(DLQ) == count
    return parked


def drain(sqs: Any, queue_url: str) -> list[tuple[str, dict[str, dict[str, str]]]]:
    messages: list[tuple[str, dict[str, dict[str, str]]]] = []
    for _ in range(20):
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []
        )
        if not batch:
            break
        messages += [(message["Body"], message.get("MessageAttributes", {})) for message in batch]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]} for i, message in enumerate(batch)],
        )
    return messages


def still_parked(stack: Deployment, queue_url: str | None = None) -> int:
    """Visible or not: what is still in the dead-letter queue."""
    found = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue_url or stack.refs[DLQ],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(found["ApproximateNumberOfMessages"]) + int(found["ApproximateNumberOfMessagesNotVisible"])


def test_parked_messages_go_back_to_their_source_queue_intact(stack: Deployment) -> None:
    parked = park(stack, 3)

    summary = redrive(operator_sqs(stack.endpoint), stack.refs[DLQ], progress=io.StringIO())

    assert sorted(drain(stack.client("sqs"), stack.refs[QUEUE])) == sorted(parked)
    assert still_parked(stack) == 0
    assert (summary.found, summary.moved, summary.failed, summary.left) == (3, 3, 0, 0)
    assert summary.destinations == {stack.attributes[f"{QUEUE}.QueueName"]: 3}
    assert summary.ok
    # moto has no message move tasks: detected, said, and done by hand
    assert any("StartMessageMoveTask is not available" in note for note in summary.notes)


def test_a_message_whose_send_fails_stays_in_the_dead_letter_queue(stack: Deployment, aws_proxy: AwsProxy) -> None:
    park(stack, 2)
    sqs = operator_sqs(aws_proxy.url)
    aws_proxy.fail("sqs.SendMessageBatch")

    summary = redrive(sqs, stack.refs[DLQ], limit=5, progress=io.StringIO())

    assert (summary.found, summary.moved, summary.failed) == (2, 0, 2)
    assert not summary.ok
    assert aws_proxy.count("sqs.DeleteMessageBatch") == 0
    assert still_parked(stack) == 2
    assert stack.queue_depth(QUEUE) == 0


def test_a_dry_run_counts_and_moves_nothing(stack: Deployment, moto_endpoint: str) -> None:
    park(stack, 3)

    result = CliRunner().invoke(main, env={"AWS_ENDPOINT_URL": moto_endpoint, "QUEUE": stack.refs[DLQ], "DRY_RUN": "1"})

    assert result.exit_code == 0, result.output
    assert f"would move   3  (3 to {stack.attributes[f'{QUEUE}.QueueName']})" in result.output
    assert result.output.count("idempotent") == 1
    assert stack.queue_depth(DLQ) == 3  # visible again at once: as it was
    assert stack.queue_depth(QUEUE) == 0


@pytest.mark.parametrize(
    ("variables", "error"),
    [
        ({}, "Missing option '--queue' / QUEUE"),
        ({"QUEUE": "arn:aws:sqs:us-east-1:1:DLQ"}, "'--queue' / QUEUE: must be the dead-letter queue's URL"),
        ({"QUEUE": "https://sqs.us-east-1.amazonaws.com/1/DLQ", "MAX": "0"}, "'--max' / MAX"),
        ({"QUEUE": "https://sqs.us-east-1.amazonaws.com/1/DLQ", "MAX": "all"}, "'--max' / MAX"),
    ],
)
def test_a_wrong_setting_is_a_usage_error_that_names_it(variables: dict[str, str], error: str) -> None:
    result = CliRunner().invoke(main, env=variables)

    assert result.exit_code == 2
    assert error in result.output


def test_max_bounds_how_many_move(stack: Deployment) -> None:
    park(stack, 3)

    summary = redrive(operator_sqs(stack.endpoint), stack.refs[DLQ], limit=2, progress=io.StringIO())

    assert summary.moved == 2
    assert stack.queue_depth(QUEUE) == 2
    assert still_parked(stack) == 1


def test_with_several_source_queues_a_message_that_does_not_say_whence_it_came_is_left(stack: Deployment) -> None:
    sqs = operator_sqs(stack.endpoint)
    sqs.create_queue(
        QueueName="AnotherQueue",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": stack.attributes[f"{DLQ}.Arn"], "maxReceiveCount": 5})
        },
    )
    sqs.send_message(QueueUrl=stack.refs[DLQ], MessageBody='{"orderId":"P-9"}')

    summary = redrive(sqs, stack.refs[DLQ], progress=io.StringIO())

    assert (summary.found, summary.moved, summary.left) == (1, 0, 1)
    assert not summary.ok
    assert still_parked(stack) == 1


class RecordingLambda:
    """Stands in for the Lambda client, the one stand-in here: moto cannot run functions without Docker.
    It records asynchronous invocations and accepts them (202), but refuses the events whose SNS
    MessageId is in `refuse`, as a throttled Lambda would."""

    def __init__(self, refuse: set[str]) -> None:
        self.refuse = refuse
        self.invocations: list[tuple[str, str, str]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        event = Payload.decode()
        self.invocations.append((FunctionName, InvocationType, event))
        if json.loads(event)["Records"][0]["Sns"]["MessageId"] in self.refuse:
            error = {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}
            raise ClientError(error, "Invoke")  # type: ignore[arg-type]
        return {"StatusCode": 202, "Payload": io.BytesIO(b"")}


def test_a_functions_failed_invocations_are_invoked_again_and_deleted_only_once_accepted(stack: Deployment) -> None:
    sqs = operator_sqs(stack.endpoint)
    dlq = sqs.create_queue(QueueName="InvoiceSyncDeadLetterQueue")["QueueUrl"]
    events = [
        json.dumps(
            topic_event(
                "OrdersPlacedTopic",
                pps_headers(topic="orders/placed", webhook_id=f"W-{n}", triggered_at=""),
                '{"orderId":"A"}',
                f"M-{n}",
            )
        )
        for n in range(3)
    ]
    for body in [*events, "not an event"]:
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=body,
            MessageAttributes={"ErrorCode": {"DataType": "Number", "StringValue": "200"}},
        )
    function = RecordingLambda(refuse={"M-1"})

    summary = redrive(sqs, dlq, function=AsyncFunction(function, "InvoiceSyncFunction"), progress=io.StringIO())

    assert sorted(function.invocations) == sorted(("InvoiceSyncFunction", "Event", event) for event in events)
    assert (summary.found, summary.moved, summary.failed, summary.left) == (4, 2, 1, 1)
    assert summary.reasons == {"TooManyRequestsException": 1, "body is not a JSON event": 1}
    assert still_parked(stack, dlq) == 2  # the refused event and the non-event: only accepted ones are deleted


def test_a_dead_letter_queue_without_source_queues_needs_the_function(stack: Deployment, moto_endpoint: str) -> None:
    dlq = stack.client("sqs").create_queue(QueueName="InvoiceSyncDeadLetterQueue")["QueueUrl"]

    result = CliRunner().invoke(main, env={"AWS_ENDPOINT_URL": moto_endpoint, "QUEUE": dlq})

    assert result.exit_code == 2
    assert "FUNCTION=" in result.output
    with pytest.raises(click.UsageError, match="leave FUNCTION and STREAM out"):
        redrive(stack.client("sqs"), stack.refs[DLQ], function=AsyncFunction(RecordingLambda(set()), "Nope"))


def parked_by_sns(stack: Deployment, queue_url: str, webhook_id: str) -> str:
    """What SNS parks under a subscription's RedrivePolicy when it cannot deliver: the message it would have
    delivered, with its attributes, and no source queue of its own."""
    body = json.dumps({"orderId": webhook_id})
    headers = pps_headers(topic="orders/placed", webhook_id=webhook_id, triggered_at="2024-01-1T10:00:00.7777748Z")
    typed = {name: {"DataType": "String", "StringValue": value} for name, value in headers.items()}
    stack.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=typed)
    return body


def test_what_sns_could_not_deliver_to_a_consumer_queue_goes_to_that_queue(stack: Deployment) -> None:
    body = parked_by_sns(stack, stack.refs[DLQ], "SNS-1")

    summary = redrive(operator_sqs(stack.endpoint), stack.refs[DLQ], progress=io.StringIO())

    assert summary.ok
    ((moved, moved_attributes),) = drain(stack.client("sqs"), stack.refs[QUEUE])
    assert moved == body
    assert moved_attributes["X-Pps-Webhook-Id"]["StringValue"] == "SNS-1"


class RecordingMoveTasks:
    """SQS's StartMessageMoveTask, which moto does not have: records how the task was asked for."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []

    def start_message_move_task(self, **request: str) -> dict[str, str]:
        self.requests.append(request)
        return {"TaskHandle": "task-1"}


def test_a_move_task_is_sent_to_the_one_source_queue_so_sns_parked_messages_go_there_too() -> None:
    sqs = RecordingMoveTasks()
    summary = RedriveSummary("dlq", "move task", dry_run=False)
    source = {"arn:aws:sqs:us-east-1:123456789012:OrdersPlacedQueue": "https://sqs/OrdersPlacedQueue"}

    start_move_task(sqs, "arn:aws:sqs:us-east-1:123456789012:OrdersPlacedDeadLetterQueue", source, summary)  # type: ignore[arg-type]
    start_move_task(sqs, "arn:aws:sqs:us-east-1:123456789012:Shared", {**source, "arn:b": "b"}, summary)  # type: ignore[arg-type]

    assert sqs.requests == [
        {
            "SourceArn": "arn:aws:sqs:us-east-1:123456789012:OrdersPlacedDeadLetterQueue",
            "DestinationArn": "arn:aws:sqs:us-east-1:123456789012:OrdersPlacedQueue",
        },
        {"SourceArn": "arn:aws:sqs:us-east-1:123456789012:Shared"},  # each message back to its own source
    ]


def test_what_sns_could_not_deliver_to_a_function_is_invoked_as_the_sns_event_it_missed(stack: Deployment) -> None:
    sqs = operator_sqs(stack.endpoint)
    dlq = sqs.create_queue(QueueName="InvoiceSyncDeadLetterQueue")["QueueUrl"]
    body = parked_by_sns(stack, dlq, "SNS-2")
    function = RecordingLambda(refuse=set())

    summary = redrive(sqs, dlq, function=AsyncFunction(function, "InvoiceSyncFunction"), progress=io.StringIO())

    assert summary.ok
    ((_, _, event),) = function.invocations
    (record,) = json.loads(event)["Records"]
    webhook = read_delivery(record, PayloadStore(lambda: stack.client("s3")))
    assert (webhook.raw_body, webhook.webhook_id, webhook.topic) == (body, "SNS-2", "orders/placed")
    assert still_parked(stack, dlq) == 0


def archive_stream(stack: Deployment, name: str, bucket: str) -> ArchiveStream:
    """A Firehose stream in moto, which writes what it gets to `bucket` as it gets it."""
    stack.client("s3").create_bucket(Bucket=bucket)
    firehose = stack.client("firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration={
            "BucketARN": f"arn:aws:s3:::{bucket}",
            "RoleARN": "arn:aws:iam::123456789012:role/ArchiveDeliveryRole",
        },
    )
    return ArchiveStream(firehose, name, stack.client("s3"))


def test_what_sns_could_not_hand_to_the_archive_is_put_into_the_archive_stream(stack: Deployment) -> None:
    # Given the archive stream (moto's Firehose writes what it gets to its bucket) and a parked notification
    s3 = stack.client("s3")
    stream = archive_stream(stack, "pps-webhooks-archive", "rearchived")
    dlq = stack.client("sqs").create_queue(QueueName="ArchiveDeadLetterQueue")["QueueUrl"]
    envelope = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": stack.refs["OrdersPlacedTopic"],
        "Message": '{"orderId":"ARC-1"}',
        "Timestamp": "2024-01-01T10:00:00.000Z",
        "MessageAttributes": {"X-Pps-Topic": {"Type": "String", "Value": "orders/placed"}},
    }
    stack.client("sqs").send_message(QueueUrl=dlq, MessageBody=json.dumps(envelope))
    parked_by_sns(stack, dlq, "SNS-3")  # a raw one, rebuilt as a notification from its attributes

    summary = redrive(
        operator_sqs(stack.endpoint),
        dlq,
        stream=stream,
        progress=io.StringIO(),
    )

    assert summary.ok
    assert (summary.found, summary.moved) == (2, 2)
    (key,) = [entry["Key"] for entry in s3.list_objects_v2(Bucket="rearchived")["Contents"]]
    archived = s3.get_object(Bucket="rearchived", Key=key)["Body"].read().decode()
    assert json.dumps(envelope) in archived
    assert '"X-Pps-Webhook-Id": {"Type": "String", "Value": "SNS-3"}' in archived
    assert still_parked(stack, dlq) == 0


def test_a_re_archived_offloaded_webhook_gets_its_body_renewed_or_stays_parked(stack: Deployment) -> None:
    """The re-archived line starts a new archive lifetime: its body must start one too, or it would expire first."""
    s3, sqs = stack.client("s3"), stack.client("sqs")
    stream = archive_stream(stack, "archive-bodies", "rearchived-bodies")
    dlq = sqs.create_queue(QueueName="ArchiveDeadLetterQueue")["QueueUrl"]
    bucket = stack.refs["PayloadBucket"]
    s3.put_object(Bucket=bucket, Key="payloads/OU1243/kept", Body=b'{"orderId":"BIG"}')
    written = s3.head_object(Bucket=bucket, Key="payloads/OU1243/kept")["LastModified"]
    for key in ("payloads/OU1243/kept", "payloads/OU1243/gone"):
        envelope = {
            "Type": "Notification",
            "MessageId": key,
            "TopicArn": stack.refs["OrdersPlacedTopic"],
            "Message": pointer_message(bucket, key),
            "Timestamp": "2024-01-01T10:00:00.000Z",
            "MessageAttributes": {
                "X-Pps-Topic": {"Type": "String", "Value": "orders/placed"},
                "ExtendedPayloadSize": {"Type": "Number", "Value": "17"},
            },
        }
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(envelope))
    time.sleep(1.1)  # S3 times have one-second resolution

    summary = redrive(operator_sqs(stack.endpoint), dlq, stream=stream, progress=io.StringIO())

    assert (summary.found, summary.moved, summary.failed) == (2, 1, 1)
    assert summary.reasons == {"offloaded body NoSuchKey": 1}
    assert s3.head_object(Bucket=bucket, Key="payloads/OU1243/kept")["LastModified"] > written
    assert still_parked(stack, dlq) == 1  # the one whose body is gone: never archived as a pointer to nothing
