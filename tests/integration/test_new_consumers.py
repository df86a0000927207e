"""Subscribing a new consumer, both ways the README shows: `make consumer` in this template (an SNS
event with a filter policy on X-Pps-Sub-Topic), and a separate stack through the exported topic ARNs."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.events import api_event
from tests.support.events import pps_headers as webhook_headers
from tests.support.lambda_context import lambda_context
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment
from tests.unit.test_operations_template import subscription_problems
from tools.devkit.cloudformation import subscribe
from tools.devkit.paths import ROOT
from tools.devkit.template import load_template
from tools.scaffold.consumer import ConsumerError, add_consumer
from tools.scaffold.sample_events import pps_headers, sns_event

SAM = Path(sys.executable).parent / "sam"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's template and functions to generate into."""
    shutil.copy(ROOT / "template.yaml", tmp_path / "template.yaml")
    shutil.copytree(ROOT / "functions", tmp_path / "functions")
    return tmp_path


def sam_lint(template: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SAM), "validate", "--lint", "--template", str(template)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": str(SAM.parent), "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1", "HOME": "/tmp"},
        check=False,
    )


def test_make_consumer_adds_a_filtered_consumer_that_lints_and_runs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_consumer("invoice-sync", "orders/placed", "product:adv/", root=project)

    linted = sam_lint(project / "template.yaml")
    assert linted.returncode == 0, linted.stdout + linted.stderr
    resources = load_template(project / "template.yaml")["Resources"]
    function = resources["InvoiceSyncFunction"]["Properties"]
    assert function["Events"]["Webhooks"]["Properties"]["Topic"] == {"Ref": "OrdersPlacedTopic"}
    assert function["DeadLetterQueue"]["TargetArn"] == {"Fn::GetAtt": ["InvoiceSyncDeadLetterQueue", "Arn"]}
    assert "InvoiceSyncLogGroup" in resources
    # And what SNS cannot deliver to it waits in its dead-letter queue, which SNS may write to and an alarm watches
    assert subscription_problems(load_template(project / "template.yaml")) == []

    # The generated handler runs its logic on an SNS delivery, and raises (so Lambda retries) on a bad one
    monkeypatch.syspath_prepend(str(project / "functions" / "invoice_sync"))
    spec = importlib.util.spec_from_file_location("generated_app", project / "functions" / "invoice_sync" / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    headers = pps_headers("orders/placed", "w-1", "2024-01-01T00:00:00Z")
    assert module.lambda_handler(sns_event("T", headers, '{"orderId":"1"}', "m-1"), lambda_context()) == {}
    with pytest.raises(ValueError, match="JSON"):
        module.lambda_handler(sns_event("T", headers, "not json", "m-2"), lambda_context())


@pytest.mark.parametrize(
    ("name", "topic"), [("Bad Name", "orders/placed"), ("ok", "invoices/paid"), ("orders", "orders/placed")]
)
def test_make_consumer_refuses_what_it_cannot_add(name: str, topic: str, project: Path) -> None:
    with pytest.raises(ConsumerError):
        add_consumer(name, topic, root=project)


def test_the_generated_filter_policy_delivers_only_matching_sub_topics(
    project: Path, stack: Deployment, sandbox: Sandbox, token: Callable[..., str]
) -> None:
    add_consumer("adv-only", "orders/placed", "product:adv/", root=project)
    events = load_template(project / "template.yaml")["Resources"]["AdvOnlyFunction"]["Properties"]["Events"]
    subscription = events["Webhooks"]["Properties"]
    sqs = stack.client("sqs")
    queue_url = sqs.create_queue(QueueName="adv-only")["QueueUrl"]
    subscribe(
        stack.client("sns"),
        stack.refs["OrdersPlacedTopic"],
        "sqs",
        "arn:aws:sqs:us-east-1:123456789012:adv-only",
        {name: subscription[name] for name in ("FilterPolicy", "FilterPolicyScope")},
    )

    for sub_topic in ("product:adv/adv-120", "product:cdv/cdv-120", "product:adv/adv-300"):
        assert sandbox.invoke(api_event("http", webhook_headers(token(), sub_topic=sub_topic))).status == 200

    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    sub_topics = sorted(json.loads(m["Body"])["MessageAttributes"]["X-Pps-Sub-Topic"]["Value"] for m in received)
    assert sub_topics == ["product:adv/adv-120", "product:adv/adv-300"]


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
