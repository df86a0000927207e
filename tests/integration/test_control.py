"""`make pause` / `make resume` / `make status` against the stack created from template.yaml in moto: the mapping
switched off and on (and nothing else), and each consumer's row read from the live queues and CloudWatch."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from pps_ops.control.cli import pause_main, resume_main, status_main
from pps_ops.control.status import HEADER
from tests.support.make import make as run_make
from tests.support.project import copy_of_the_project
from tests.support.stack import Deployment, reset_moto
from tools.devkit import cloudformation
from tools.devkit.cloudformation import Stack, create_stack
from tools.devkit.emulator import STACK_NAME
from tools.devkit.events import pps_headers
from tools.devkit.template import load_template
from tools.scaffold.consumer import add_consumer

PLACED, UPDATED = "OrdersPlacedFunction", "OrdersUpdatedFunction"


def command(main: click.Command, moto_endpoint: str, **variables: str) -> Result:
    """What `make <target>` runs, with these variables: the command, its settings read from the environment."""
    return CliRunner().invoke(main, env={"AWS_ENDPOINT_URL": moto_endpoint, **variables})


def make(target: str, moto_endpoint: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """The real `make <target> NAME=value...`, as the README shows it."""
    return run_make(target, moto_endpoint, variables)


def state(stack: Deployment, function: str) -> str:
    """The live State of the function's event source mapping."""
    mapping_id = stack.physical_ids[function.removesuffix("Function") + "EventSource"]
    mapping = stack.client("lambda").get_event_source_mapping(UUID=mapping_id)
    return str(mapping["State"])


def publish(stack: Deployment, topic: str, x_pps_topic: str, count: int) -> None:
    """As the receiver publishes a webhook: the body, the X-Pps-* headers as message attributes."""
    for _ in range(count):
        headers = pps_headers(topic=x_pps_topic, webhook_id=str(uuid.uuid4()))
        stack.client("sns").publish(
            TopicArn=stack.refs[topic],
            Message=json.dumps({"orderId": f"S-{uuid.uuid4().hex[:6]}"}),
            MessageAttributes={name: {"DataType": "String", "StringValue": value} for name, value in headers.items()},
        )


def put_age(stack: Deployment, queue: str, seconds: float, at: datetime) -> None:
    """A datapoint as SQS itself publishes it in AWS."""
    stack.client("cloudwatch").put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": queue_name(stack, queue)}],
                "Timestamp": at,
                "Value": seconds,
                "Unit": "Seconds",
            }
        ],
    )


def queue_name(stack: Deployment, queue: str) -> str:
    return stack.refs[queue].rsplit("/", 1)[-1]


def table(output: str) -> dict[str, list[str]]:
    """`make status`'s rows by consumer, each split into its cells (no cell holds a space)."""
    header, *rows = output.splitlines()
    assert header.split() == " ".join(HEADER).split()
    return {row.split()[0]: row.split() for row in rows}


def test_pausing_by_logical_id_disables_only_its_mapping_and_resuming_by_name_enables_it(
    stack: Deployment, moto_endpoint: str
) -> None:
    paused = command(pause_main, moto_endpoint, CONSUMER=PLACED)

    assert paused.exit_code == 0, paused.output
    assert (state(stack, PLACED), state(stack, UPDATED)) == ("Disabled", "Enabled")
    assert paused.output.startswith(f"{PLACED} paused (event source mapping ")
    assert f"its webhooks wait in {queue_name(stack, 'OrdersPlacedQueue')}, kept 14 days" in paused.output

    again = command(pause_main, moto_endpoint, CONSUMER=PLACED)

    assert again.exit_code == 0, again.output
    assert f"{PLACED} is already paused" in again.output
    assert state(stack, PLACED) == "Disabled"

    resumed = command(resume_main, moto_endpoint, CONSUMER=stack.physical_ids[PLACED], STACK=STACK_NAME)

    assert resumed.exit_code == 0, resumed.output
    assert resumed.output.startswith(f"{PLACED} running (event source mapping ")
    assert (state(stack, PLACED), state(stack, UPDATED)) == ("Enabled", "Enabled")
    assert f"{PLACED} is already running" in command(resume_main, moto_endpoint, CONSUMER=PLACED).output


def test_the_real_make_targets_pause_and_resume_by_physical_name(stack: Deployment, moto_endpoint: str) -> None:
    name = stack.physical_ids[UPDATED]

    paused = make("pause", moto_endpoint, CONSUMER=name, STACK=STACK_NAME)

    assert paused.returncode == 0, paused.stdout + paused.stderr
    assert paused.stdout.startswith(f"{UPDATED} paused")
    assert state(stack, UPDATED) == "Disabled"

    resumed = make("resume", moto_endpoint, CONSUMER=f" {name} ")  # pasted with spaces: stripped

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert state(stack, UPDATED) == "Enabled"


@pytest.mark.parametrize("main", [pause_main, resume_main])
def test_an_unknown_consumer_is_a_usage_error_listing_the_stacks_consumers(
    stack: Deployment, moto_endpoint: str, main: click.Command
) -> None:
    result = command(main, moto_endpoint, CONSUMER="OrdersShippedFunction")

    assert result.exit_code == 2
    assert f"the stack's consumers: {PLACED}, {UPDATED}" in result.output
    assert (state(stack, PLACED), state(stack, UPDATED)) == ("Enabled", "Enabled")


def test_a_missing_consumer_is_a_usage_error_naming_its_variable(moto_endpoint: str) -> None:
    result = command(pause_main, moto_endpoint)

    assert result.exit_code == 2
    assert "Missing option '--consumer' / CONSUMER" in result.output


def test_status_shows_each_consumers_state_depths_oldest_age_and_dead_letters(
    stack: Deployment, moto_endpoint: str
) -> None:
    sqs = stack.client("sqs")
    publish(stack, "OrdersPlacedTopic", "orders/placed", 3)
    publish(stack, "OrdersUpdatedTopic", "orders/updated", 1)
    # One of OrdersPlaced's webhooks is being processed: received, not deleted.
    received = sqs.receive_message(QueueUrl=stack.refs["OrdersPlacedQueue"], VisibilityTimeout=300)["Messages"]
    assert len(received) == 1
    for _ in range(2):
        sqs.send_message(QueueUrl=stack.refs["OrdersPlacedDeadLetterQueue"], MessageBody='{"orderId": "parked"}')
    now = datetime.now(UTC)
    put_age(stack, "OrdersPlacedQueue", 600, now - timedelta(minutes=3))
    put_age(stack, "OrdersPlacedQueue", 754, now)  # the latest datapoint, not the largest
    put_age(stack, "OrdersUpdatedQueue", 99, now - timedelta(minutes=20))  # older than status looks back
    assert command(pause_main, moto_endpoint, CONSUMER=UPDATED).exit_code == 0

    shown = make("status", moto_endpoint)

    assert shown.returncode == 0, shown.stdout + shown.stderr
    rows = table(shown.stdout)
    concurrency = stack.parameter("OrdersPlacedMaximumConcurrency"), stack.parameter("OrdersUpdatedMaximumConcurrency")
    assert rows == {
        PLACED: [PLACED, "running", "2", "1", "12m34s", "2", concurrency[0], queue_name(stack, "OrdersPlacedQueue")],
        UPDATED: [UPDATED, "paused", "1", "0", "-", "0", concurrency[1], queue_name(stack, "OrdersUpdatedQueue")],
    }
    # Nothing was received to find this out: the waiting messages were never received.
    attributes: dict[str, Any] = sqs.receive_message(
        QueueUrl=stack.refs["OrdersUpdatedQueue"], MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )["Messages"][0]["Attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"


def test_status_shows_an_empty_queue_as_holding_nothing_old_whatever_the_lagging_metric_says(
    stack: Deployment, moto_endpoint: str
) -> None:
    """Right after a paused consumer is resumed and drains its queue, the metric's minute still holds the old age."""
    put_age(stack, "OrdersPlacedQueue", 754, datetime.now(UTC))

    shown = command(status_main, moto_endpoint)

    assert shown.exit_code == 0, shown.output
    assert table(shown.output)[PLACED][2:5] == ["0", "0", "0s"]


def test_status_aligns_its_columns(stack: Deployment, moto_endpoint: str) -> None:
    shown = command(status_main, moto_endpoint)

    assert shown.exit_code == 0, shown.output
    header, *rows = shown.output.splitlines()
    state_column = header.index("STATE")
    assert [row[state_column:].split()[0] for row in rows] == ["running", "running"]
    assert all(not line.endswith(" ") for line in shown.output.splitlines())


def test_status_of_a_stack_that_does_not_exist_fails_with_the_aws_error(stack: Deployment, moto_endpoint: str) -> None:
    result = command(status_main, moto_endpoint, STACK="no-such-stack")

    assert result.exit_code == 1
    assert "no-such-stack" in result.output


def test_a_consumer_added_with_make_consumer_is_listed_and_can_be_paused(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read from the deployed stack, never from template.yaml: nothing in ops names the example consumers."""
    root = copy_of_the_project(tmp_path)
    add_consumer("invoice-sync", "orders/placed", root=root)
    reset_moto(moto_endpoint)
    monkeypatch.setattr(cloudformation, "ROOT", root)  # package the copy's code
    stack: Stack = create_stack(
        Stack, moto_endpoint, load_template(root / "template.yaml"), {"PpsIssuer": "https://i", "PpsAudience": "a"}
    )

    paused = command(pause_main, moto_endpoint, CONSUMER="InvoiceSyncFunction")
    shown = command(status_main, moto_endpoint)

    assert paused.exit_code == 0, paused.output
    rows = table(shown.output)
    assert sorted(rows) == ["InvoiceSyncFunction", PLACED, UPDATED]
    assert rows["InvoiceSyncFunction"][1:4] == ["paused", "0", "0"]
    assert rows["InvoiceSyncFunction"][-1] == stack.attribute("InvoiceSyncQueue", "QueueName")
    reset_moto(moto_endpoint)
