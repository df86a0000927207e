"""Subscribing a new consumer, both ways the README shows: `make consumer` in this template, and a separate stack
through the exported topic ARNs.

`make consumer` runs in a copy of the project. What it adds is checked the way the repository checks its own:
template.yaml only gains lines, `sam validate --lint` passes, ruff and mypy pass on the generated code, the deploy
rehearsal creates it as CloudFormation would and wires it to the topic, and its handler processes the deliveries
the topic hands its queue (tests/e2e/test_local_run_new_consumer.py runs it in `make run`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pps_webhooks.offload import string_attributes
from tests.deploy.exercise import environment, receive_all
from tests.support.project import copy_of_the_project
from tests.support.receiver import Sandbox
from tests.support.stack import reset_moto
from tests.unit.test_operations_template import subscription_problems
from tools.devkit import cloudformation
from tools.devkit.cloudformation import Stack, create_stack, subscriptions
from tools.devkit.events import pps_headers, sqs_event
from tools.devkit.lambda_context import LambdaContext
from tools.devkit.paths import PROJECT_ENV, ROOT
from tools.devkit.template import load_template
from tools.scaffold.consumer import ConsumerError, add_consumer, main

BIN = Path(sys.executable).parent
PREFIX = "product:adv/"
INVOICE_SYNC = "InvoiceSync"
"""make consumer NAME=invoice-sync TOPIC=orders/placed SUB_TOPIC_PREFIX=product:adv/ MAXIMUM_CONCURRENCY=7"""
SHIPPING = "Shipping"
"""make consumer NAME=shipping TOPIC=orders/updated: every webhook of the topic, the default concurrency."""
ADDED = {
    "Parameters": ["MaximumConcurrency"],
    "Resources": [
        "DeadLetterQueue",
        "Queue",
        "Subscription",
        "QueuePolicy",
        "Function",
        "EventSource",
        "LogGroup",
        "RecordErrorsMetricFilter",
        "DeadLetterAlarm",
        "QueueAgeAlarm",
        "ErrorsAlarm",
    ],
    "Outputs": ["QueueUrl", "DeadLetterQueueUrl", "DeadLetterQueueArn"],
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with two consumers added by `make consumer`."""
    root = copy_of_the_project(tmp_path_factory.mktemp("project"))
    add_consumer("invoice-sync", "orders/placed", PREFIX, maximum_concurrency=7, root=root)
    add_consumer("shipping", "orders/updated", root=root)
    return root


def run(command: list[str], cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1", **env},
        check=False,
    )


def sam_lint(template: Path) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "sam"), "validate", "--lint", "--template", str(template)], template.parent)


def in_order(lines: list[str], within: list[str]) -> bool:
    """Whether `lines` are all in `within`, in the same order (others may come between)."""
    remaining = iter(within)
    return all(any(line == other for other in remaining) for line in lines)


# What it adds to template.yaml


def test_it_only_adds_lines_to_the_template_and_its_comments_and_quotes_stay(project: Path) -> None:
    before = (ROOT / "template.yaml").read_text().splitlines()
    after = (project / "template.yaml").read_text().splitlines()
    comments = [line for line in before if line.lstrip().startswith("#")]

    assert in_order(before, after)
    assert in_order(comments, [line for line in after if line.lstrip().startswith("#")])
    assert "  # InvoiceSyncFunction (make consumer): orders/placed webhooks whose X-Pps-Sub-Topic starts with " in (
        "\n".join(after)
    )
    for section, suffixes in ADDED.items():
        new = load_template(project / "template.yaml")[section].keys() - load_template()[section].keys()
        assert new == {f"{consumer}{suffix}" for consumer in (INVOICE_SYNC, SHIPPING) for suffix in suffixes}


def test_the_dashboard_charts_its_errors_and_dead_letter_queue_depth_beside_the_examples(project: Path) -> None:
    body = load_template(project / "template.yaml")["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]
    widgets = {
        widget["properties"]["title"]: widget["properties"]["metrics"]
        for widget in json.loads(body["Fn::Sub"])["widgets"]
    }

    for consumer in (INVOICE_SYNC, SHIPPING):
        errors = {(row[0], row[1], row[3]) for row in widgets["Consumer errors"]}
        assert ("AWS/Lambda", "Errors", f"${{{consumer}Function}}") in errors
        assert ("PpsWebhooks", "ConsumerRecordErrors", f"${{{consumer}Function}}") in errors
        depth = {row[3] for row in widgets["Dead-letter queue depth, per consumer"]}
        assert f"${{{consumer}DeadLetterQueue.QueueName}}" in depth
        age = next(metrics for title, metrics in widgets.items() if title.startswith("Age of the oldest message"))
        assert ("ApproximateAgeOfOldestMessage", f"${{{consumer}Queue.QueueName}}") in {(r[1], r[3]) for r in age}


def test_the_template_with_it_passes_sam_validate_lint(project: Path) -> None:
    linted = sam_lint(project / "template.yaml")

    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_its_subscription_parks_what_sns_cannot_deliver_where_an_alarm_watches(project: Path) -> None:
    template = load_template(project / "template.yaml")
    resources = template["Resources"]

    assert subscription_problems(template) == []
    for consumer in (INVOICE_SYNC, SHIPPING):
        for alarm in (f"{consumer}DeadLetterAlarm", f"{consumer}QueueAgeAlarm", f"{consumer}ErrorsAlarm"):
            properties = resources[alarm]["Properties"]
            assert properties["AlarmActions"] == properties["OKActions"] == [{"Ref": "AlarmTopic"}]
            assert f"{consumer}Function" in properties["AlarmDescription"]


def test_the_generated_code_passes_ruff_and_mypy_as_the_repository_configures_them(tmp_path: Path) -> None:
    """The longest NAME and SUB_TOPIC_PREFIX it takes, too: every generated line stays within the line length."""
    root = copy_of_the_project(tmp_path)
    add_consumer("invoice-sync", "orders/placed", PREFIX, root=root)
    add_consumer("a" * 20 + "-" + "b" * 19, "orders/updated", "product:" + "x" * 56, root=root)
    generated = [str(path) for path in sorted((root / "functions").iterdir()) if (path / "logic.py").exists()]

    assert len(generated) == 2
    for command in (["ruff", "check"], ["ruff", "format", "--check"], ["mypy", "--no-incremental"]):
        checked = run([str(BIN / command[0]), *command[1:], *generated], root)
        assert checked.returncode == 0, checked.stdout + checked.stderr


# The deploy rehearsal over it


@pytest.fixture(scope="module")
def rehearsal(project: Path, moto_endpoint: str) -> Iterator[Stack]:
    """The template with the consumers, packaged, transformed and created in moto as `sam deploy` would, with
    InvoiceSync's MaximumConcurrency overridden (what moto leaves out filled in as for the local run)."""
    reset_moto(moto_endpoint)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(cloudformation, "ROOT", project)  # package the copy's code
        stack = create_stack(
            Stack,
            moto_endpoint,
            load_template(project / "template.yaml"),
            {"PpsIssuer": "https://issuer.example", "PpsAudience": "pps", f"{INVOICE_SYNC}MaximumConcurrency": "9"},
        )
    yield stack
    reset_moto(moto_endpoint)


def queue_attributes(stack: Stack, logical_id: str) -> dict[str, str]:
    url = stack.physical_ids[logical_id]
    attributes: dict[str, str] = stack.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]
    return attributes


def test_the_rehearsal_creates_its_queue_dead_letter_queue_function_and_log_group(rehearsal: Stack) -> None:
    for consumer in (INVOICE_SYNC, SHIPPING):
        created = [f"{consumer}{suffix}" for suffix in ("Queue", "DeadLetterQueue", "Function", "EventSource")]
        assert [name for name in created if name in rehearsal.left_out or not rehearsal.physical_ids.get(name)] == []
        queue, dead_letters = (queue_attributes(rehearsal, f"{consumer}{q}") for q in ("Queue", "DeadLetterQueue"))
        function = rehearsal.client("lambda").get_function_configuration(
            FunctionName=rehearsal.physical_ids[f"{consumer}Function"]
        )

        # Lambda recommends six times the function's timeout for an SQS event source.
        assert int(queue["VisibilityTimeout"]) >= 6 * function["Timeout"]
        assert json.loads(queue["RedrivePolicy"]) == {
            "deadLetterTargetArn": dead_letters["QueueArn"],
            "maxReceiveCount": int(rehearsal.parameter("ConsumerMaxReceiveCount")),
        }
        assert int(dead_letters["MessageRetentionPeriod"]) == 14 * 86_400
        assert queue["SqsManagedSseEnabled"] == dead_letters["SqsManagedSseEnabled"] == "true"
        log_groups = rehearsal.client("logs").describe_log_groups(
            logGroupNamePrefix=f"/aws/lambda/{function['FunctionName']}"
        )["logGroups"]
        assert [group["retentionInDays"] for group in log_groups] == [int(rehearsal.parameter("LogRetentionDays"))]


def test_its_topic_delivers_raw_through_its_filter_and_parks_what_it_cannot_deliver(rehearsal: Stack) -> None:
    found = {s.logical_id: s for s in subscriptions(rehearsal)}
    for consumer, topic, filtered in (
        (INVOICE_SYNC, "OrdersPlacedTopic", True),
        (SHIPPING, "OrdersUpdatedTopic", False),
    ):
        subscription = found[f"{consumer}Subscription"]
        queue, dead_letters = (queue_attributes(rehearsal, f"{consumer}{q}") for q in ("Queue", "DeadLetterQueue"))

        assert (subscription.topic_arn, subscription.protocol, subscription.endpoint) == (
            rehearsal.physical_ids[topic],
            "sqs",
            queue["QueueArn"],
        )
        assert subscription.attributes["RawMessageDelivery"] == "true"
        assert json.loads(subscription.attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dead_letters["QueueArn"]}
        if filtered:
            assert json.loads(subscription.attributes["FilterPolicy"]) == {"X-Pps-Sub-Topic": [{"prefix": PREFIX}]}
            assert subscription.attributes["FilterPolicyScope"] == "MessageAttributes"
        else:
            assert "FilterPolicy" not in subscription.attributes
        # The topic, and no other, may send to the queue and park in the dead-letter queue.
        (statement,) = rehearsal.properties(f"{consumer}QueuePolicy")["PolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == [queue["QueueArn"], dead_letters["QueueArn"]]
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rehearsal.physical_ids[topic]}}


def test_its_event_source_mapping_feeds_the_function_at_most_its_parameters_concurrency(rehearsal: Stack) -> None:
    for consumer, maximum in ((INVOICE_SYNC, 9), (SHIPPING, 5)):
        mapping = rehearsal.event_source_mappings[f"{consumer}EventSource"]  # as created, before the run took over
        function = rehearsal.client("lambda").get_function_configuration(
            FunctionName=rehearsal.physical_ids[f"{consumer}Function"]
        )

        assert mapping["EventSourceArn"] == queue_attributes(rehearsal, f"{consumer}Queue")["QueueArn"]
        assert mapping["FunctionArn"] == function["FunctionArn"]
        assert mapping["State"] == "Enabled"
        assert mapping["BatchSize"] == 10
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": maximum}


def test_its_alarms_watch_its_dead_letter_queue_and_function_and_notify_the_alarm_topic(rehearsal: Stack) -> None:
    """moto leaves alarms out: they are read as resolved against the created stack."""
    alarm_topic = rehearsal.physical_ids["AlarmTopic"]
    for consumer in (INVOICE_SYNC, SHIPPING):
        dead_letters = queue_attributes(rehearsal, f"{consumer}DeadLetterQueue")
        function = rehearsal.physical_ids[f"{consumer}Function"]
        depth = rehearsal.properties(f"{consumer}DeadLetterAlarm")
        errors = rehearsal.properties(f"{consumer}ErrorsAlarm")
        age = rehearsal.properties(f"{consumer}QueueAgeAlarm")
        queue = queue_attributes(rehearsal, f"{consumer}Queue")

        assert (depth["Namespace"], depth["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert depth["Dimensions"] == [{"Name": "QueueName", "Value": dead_letters["QueueArn"].rsplit(":", 1)[-1]}]
        assert (age["Namespace"], age["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
        assert age["Dimensions"] == [{"Name": "QueueName", "Value": queue["QueueArn"].rsplit(":", 1)[-1]}]
        assert str(age["Threshold"]) == rehearsal.parameter("ConsumerQueueAgeAlarmSeconds") == "1800"
        assert f"CONSUMER={consumer}Function" in age["AlarmDescription"]
        watched = [query["MetricStat"]["Metric"] for query in errors["Metrics"] if "MetricStat" in query]
        assert {(m["MetricName"], m["Dimensions"][0]["Value"]) for m in watched} == {
            ("Errors", function),
            ("ConsumerRecordErrors", function),
        }
        for alarm in (depth, errors, age):
            assert alarm["AlarmActions"] == alarm["OKActions"] == [alarm_topic]
        metric_filter = rehearsal.properties(f"{consumer}RecordErrorsMetricFilter")
        assert metric_filter["LogGroupName"] == f"/aws/lambda/{function}"


@pytest.fixture
def invoice_sync(rehearsal: Stack, project: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The generated function in a sandbox of its own, with the environment the stack gave it."""
    for name, value in {**environment(rehearsal, f"{INVOICE_SYNC}Function"), "AWS_ENDPOINT_URL": moto_endpoint}.items():
        monkeypatch.setenv(name, value)
    return Sandbox(f"{INVOICE_SYNC}Function", root=project)


def publish(stack: Stack, topic: str, body: str, sub_topic: str) -> str:
    webhook_id = str(uuid.uuid4())
    stack.client("sns").publish(
        TopicArn=stack.physical_ids[topic],
        Message=body,
        MessageAttributes=string_attributes(
            pps_headers(
                topic="orders/placed", webhook_id=webhook_id, triggered_at="2024-01-01T10:00:00Z", sub_topic=sub_topic
            )
        ),
    )
    return webhook_id


def test_its_handler_processes_what_its_queue_gets_and_reports_a_failure_alone(
    rehearsal: Stack, invoice_sync: Sandbox, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    wanted = publish(rehearsal, "OrdersPlacedTopic", '{"orderId": "ORD-1"}', "product:adv/adv-120")
    publish(rehearsal, "OrdersPlacedTopic", '{"orderId": "ORD-2"}', "product:cdv/cdv-120")
    failing = publish(rehearsal, "OrdersPlacedTopic", "not JSON", "product:adv/adv-300")
    queue_arn = queue_attributes(rehearsal, f"{INVOICE_SYNC}Queue")["QueueArn"]

    messages = receive_all(rehearsal, queue_arn)
    delivered = {m["MessageAttributes"]["X-Pps-Webhook-Id"]["StringValue"]: m for m in messages}
    assert set(delivered) == {wanted, failing}  # the filter policy let product:cdv/ through to nobody here
    assert delivered[wanted]["Body"] == '{"orderId": "ORD-1"}'  # raw: the webhook's body, not an SNS envelope

    result = invoice_sync.handle(sqs_event(messages, queue_arn), LambdaContext("InvoiceSync", timeout_seconds=30))

    assert result == {"batchItemFailures": [{"itemIdentifier": delivered[failing]["MessageId"]}]}
    received = [line for line in logs() if line["message"] == "Received"]
    assert [(line["webhook_id"], line["sub_topic"]) for line in received] == [(wanted, "product:adv/adv-120")]
    (failure,) = [line for line in logs() if line["level"] == "ERROR"]
    assert "the webhook body is not JSON" in failure["exception"]


def test_the_deploy_rehearsal_passes_with_the_consumers_added(project: Path) -> None:
    """tests/deploy over the copy: its receiver's webhooks reach the new consumers, and each new function's role
    grants what its code calls and no more."""
    rehearsed = run(
        [sys.executable, "-m", "pytest", str(ROOT / "tests" / "deploy"), "-p", "no:cacheprovider", "-v"],
        project,
        timeout=100,
        **{PROJECT_ENV: str(project)},
    )

    assert rehearsed.returncode == 0, rehearsed.stdout[-5000:] + rehearsed.stderr[-2000:]
    for check in (
        "test_each_function_role_grants_only_what_its_code_calls",
        "test_each_function_role_grants_every_call_its_code_makes",
        "test_a_consumer_may_poll_its_own_queue_and_no_other",
    ):
        for consumer in (INVOICE_SYNC, SHIPPING):
            assert f"test_rehearsal.py::{check}[{consumer}Function] PASSED" in rehearsed.stdout


# The command


def test_help_says_what_it_adds_and_takes() -> None:
    shown = CliRunner().invoke(main, ["--help"])

    assert shown.exit_code == 0
    for text in ("NAME TOPIC", "--sub-topic-prefix", "--maximum-concurrency", "make consumer NAME=", "2<=x<=1000"):
        assert text in shown.output


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["", "orders/placed"], "Invalid value for NAME: required"),
        (["Invoice Sync", "orders/placed"], "Invalid value for NAME: 'Invoice Sync'"),
        (["x" * 41, "orders/placed"], "Invalid value for NAME"),
        (["invoice-sync", ""], "Invalid value for TOPIC: required"),
        (["invoice-sync", "invoices/paid"], "is none of the template's topics: orders/placed, orders/updated"),
        (["orders", "orders/placed"], "functions/orders/ exists already"),
        (
            ["orders-placed", "orders/placed"],
            "template.yaml has OrdersPlacedMaximumConcurrency, OrdersPlacedDeadLetterQueue",
        ),
        (["invoice-sync", "orders/placed", "--sub-topic-prefix", "product: adv"], "Invalid value for SUB_TOPIC_PREFIX"),
        (["invoice-sync", "orders/placed", "--sub-topic-prefix", 'a"b'], "Invalid value for SUB_TOPIC_PREFIX"),
        (["invoice-sync", "orders/placed", "--maximum-concurrency", "1"], "1 is not in the range 2<=x<=1000"),
        (["invoice-sync", "orders/placed", "--maximum-concurrency", "1001"], "1001 is not in the range 2<=x<=1000"),
        (["invoice-sync", "orders/placed", "--maximum-concurrency", "five"], "'five' is not a valid integer"),
    ],
)
def test_it_refuses_what_it_cannot_add_and_changes_nothing(arguments: list[str], said: str, tmp_path: Path) -> None:
    root = copy_of_the_project(tmp_path)
    before = (root / "template.yaml").read_text()

    refused = CliRunner().invoke(main, arguments, env={PROJECT_ENV: str(root)})

    assert refused.exit_code == 2
    assert said in refused.output
    assert (root / "template.yaml").read_text() == before
    assert not (root / "functions" / "invoice_sync").exists()


def test_it_never_overwrites_a_consumer_it_added(tmp_path: Path) -> None:
    root = copy_of_the_project(tmp_path)
    added = CliRunner().invoke(main, ["invoice-sync", "orders/placed"], env={PROJECT_ENV: str(root)})
    (root / "functions" / "invoice_sync" / "logic.py").write_text("# mine\n")
    template = (root / "template.yaml").read_text()

    again = CliRunner().invoke(main, ["invoice_sync", "orders/updated"], env={PROJECT_ENV: str(root)})

    assert added.exit_code == 0, added.output
    assert "wrote functions/invoice_sync/logic.py" in added.output
    assert again.exit_code == 2
    assert "template.yaml has InvoiceSyncMaximumConcurrency, InvoiceSyncDeadLetterQueue" in again.output
    assert (root / "template.yaml").read_text() == template
    assert (root / "functions" / "invoice_sync" / "logic.py").read_text() == "# mine\n"


def test_a_template_it_cannot_add_to_is_left_as_it_is(tmp_path: Path) -> None:
    root = copy_of_the_project(tmp_path)
    text = (root / "template.yaml").read_text().replace("  AlarmTopic:\n", "  OpsAlarmTopic:\n")
    (root / "template.yaml").write_text(text)

    with pytest.raises(ConsumerError, match="no AlarmTopic, which a consumer refers to"):
        add_consumer("invoice-sync", "orders/placed", root=root)
    assert (root / "template.yaml").read_text() == text


# From another stack


def test_the_subscriber_example_stack_imports_only_what_this_stack_exports() -> None:
    exported = {
        output["Export"]["Name"]["Fn::Sub"].removeprefix("${AWS::StackName}-")
        for output in load_template()["Outputs"].values()
        if "Export" in output
    }
    example = load_template(ROOT / "examples" / "subscriber-stack.yaml")
    imported = set(_imports(example))

    assert imported
    assert imported <= exported
    assert sam_lint(ROOT / "examples" / "subscriber-stack.yaml").returncode == 0


def _imports(node: Any) -> list[str]:
    if isinstance(node, dict):
        if "Fn::ImportValue" in node:
            return [node["Fn::ImportValue"]["Fn::Sub"].removeprefix("${WebhooksStackName}-")]
        return [name for value in node.values() for name in _imports(value)]
    if isinstance(node, list):
        return [name for value in node for name in _imports(value)]
    return []
