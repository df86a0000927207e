"""ops/ installs and runs with only its own requirements: `pip install ./ops` (its pins) into a bare venv holds
nothing of the developer toolchain; `--help` documents every make variable; a dry run of each tool against the
emulator counts what it would send or move, and sends nothing."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.stack import Deployment

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
# The pinned requirements and what they pull in: boto3's own dependencies.
OPS_DISTRIBUTIONS = {
    "pps-webhooks-ops",
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
    "click",
    "pip",
}
DEV_TOOLCHAIN = ["moto", "aws-sam-cli", "pytest", "rich", "mypy", "ruff", "pps-webhooks"]
REPLAY_VARIABLES = [
    *(
        "TOPIC",
        "SINCE",
        "UNTIL",
        "TARGET",
        "TENANT",
        "SUB_TOPIC_PREFIX",
        "WEBHOOK_IDS",
        "RATE",
        "CHECKPOINT",
        "RESTART",
    ),
    *("DRY_RUN", "ARCHIVE_BUCKET", "STACK"),
]
REDRIVE_VARIABLES = ["QUEUE", "FUNCTION", "STREAM", "DRY_RUN", "MAX"]
CONTROL_VARIABLES = ["CONSUMER", "STACK"]
FIND_VARIABLES = [
    *("WEBHOOK_ID", "TENANT", "SINCE", "TIMEOUT", "MAX_RECEIVES"),
    *("ARCHIVE_BUCKET", "DATABASE", "TABLE", "WORKGROUP", "STACK"),
]

pytestmark = pytest.mark.timeout(600)  # the first test creates the venv: pip install from PyPI (or its cache)


def bare_environment(**variables: str) -> dict[str, str]:
    """PATH and HOME (pip's cache, its configuration), nothing that points Python at this repository."""
    keep = {name: value for name, value in os.environ.items() if name.startswith("PIP_") or name in ("HOME", "PATH")}
    return {**keep, **variables}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ops-alone")


@pytest.fixture(scope="module")
def ops_bin(workdir: Path) -> Path:
    """A venv of the Python 3.13 `scripts/find-python` finds (not .venv), with `pip install -r ops/requirements.txt
    ./ops` and nothing else."""
    python = subprocess.run([ROOT / "scripts" / "find-python"], capture_output=True, text=True, check=True)
    venv = workdir / "venv"
    subprocess.run([python.stdout.strip(), "-m", "venv", venv], check=True, cwd=workdir)
    pip: list[str | Path] = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "-r", OPS / "requirements.txt", OPS],
        check=True,
        cwd=workdir,
        env=bare_environment(),
    )
    return venv / "bin"


def run(ops_bin: Path, workdir: Path, *command: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """A command of the venv, from outside the repository, with only the environment given."""
    environment = bare_environment(PATH=f"{ops_bin}:/usr/bin:/bin", **variables)
    return subprocess.run(
        [str(ops_bin / command[0]), *command[1:]], cwd=workdir, env=environment, capture_output=True, text=True
    )


def test_the_venv_holds_ops_and_its_requirements_and_nothing_of_the_dev_toolchain(ops_bin: Path, workdir: Path) -> None:
    listed = run(ops_bin, workdir, "python", "-m", "pip", "list", "--format=json")
    installed = {entry["name"].lower() for entry in json.loads(listed.stdout)}

    assert installed <= OPS_DISTRIBUTIONS, installed - OPS_DISTRIBUTIONS
    assert {"pps-webhooks-ops", "boto3", "click"} <= installed
    assert not installed & set(DEV_TOOLCHAIN)
    probe = "import importlib.util as u; print([m for m in ('tools', 'tests', 'pps_webhooks') if u.find_spec(m)])"
    assert run(ops_bin, workdir, "python", "-c", probe).stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("command", "variables"),
    [
        ("pps-replay", REPLAY_VARIABLES),
        ("pps-redrive", REDRIVE_VARIABLES),
        ("pps-pause", CONTROL_VARIABLES),
        ("pps-resume", CONTROL_VARIABLES),
        ("pps-status", ["STACK"]),
        ("pps-find", FIND_VARIABLES),
    ],
)
def test_help_documents_every_make_variable(ops_bin: Path, workdir: Path, command: str, variables: list[str]) -> None:
    result = run(ops_bin, workdir, command, "--help")

    text = " ".join(result.stdout.split())  # as wrapped for any terminal width
    assert result.returncode == 0, result.stderr
    assert text.startswith(f"Usage: {command} [OPTIONS]")
    for name in variables:
        assert f"--{name.lower().replace('_', '-')} " in text
        assert f"env var: {name}" in text


@pytest.fixture
def aws(moto_endpoint: str) -> dict[str, str]:
    """The settings the tools get from the SDK's standard variables: the emulator, fake credentials."""
    return {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def clients(aws: dict[str, str]) -> tuple[Any, Any]:
    """S3 and SQS of the emulator, to set the scene and look at it."""
    endpoint, region = aws["AWS_ENDPOINT_URL"], aws["AWS_DEFAULT_REGION"]
    return boto3.client("s3", endpoint_url=endpoint, region_name=region), boto3.client(
        "sqs", endpoint_url=endpoint, region_name=region
    )


def notification(topic: str, timestamp: str, order_id: str) -> str:
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:OrdersPlacedTopic",
            "Message": json.dumps({"orderId": order_id}),
            "Timestamp": timestamp,
            "SignatureVersion": "1",
            "Signature": "c2lnbmF0dXJl",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
            "MessageAttributes": {"X-Pps-Topic": {"Type": "String", "Value": topic}},
        }
    )


def depth(sqs: Any, queue_url: str) -> int:
    found = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(found["ApproximateNumberOfMessages"]) + int(found["ApproximateNumberOfMessagesNotVisible"])


def test_a_dry_run_of_replay_counts_the_archive_and_sends_nothing(
    ops_bin: Path, workdir: Path, aws: dict[str, str]
) -> None:
    # Given an archive in Firehose's layout and the consumer's queue
    (s3, sqs), suffix = clients(aws), uuid.uuid4().hex[:8]
    bucket = f"ops-alone-archive-{suffix}"
    s3.create_bucket(Bucket=bucket)
    lines = [
        notification("orders/placed", "2024-01-01T10:00:00.000Z", "R-1"),
        notification("orders/placed", "2024-01-02T10:00:00.000Z", "R-2"),
        notification("orders/placed", "2024-01-05T10:00:00.000Z", "X-after"),
    ]
    key = f"webhooks/topic=orders_placed/date=2024-01-01/PPS-WebhookArchiveStream-1-{suffix}.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress("\n".join(lines).encode()))
    queue_url = sqs.create_queue(QueueName=f"ops-alone-target-{suffix}")["QueueUrl"]

    # When `make replay ... DRY_RUN=1` runs the installed command
    result = run(
        ops_bin,
        workdir,
        "pps-replay",
        TOPIC="orders/placed",
        SINCE="2024-01-01",
        UNTIL="2024-01-03",
        TARGET=queue_url,
        ARCHIVE_BUCKET=bucket,
        DRY_RUN="1",
        **aws,
    )

    # Then it counted what it would send, and sent nothing
    assert result.returncode == 0, result.stderr
    assert "found in window  2" in result.stdout
    assert f"would send       2  to queue {queue_url}  (dry run: nothing sent)" in result.stdout
    assert "skipped          1  (1 outside the window" in result.stdout
    assert depth(sqs, queue_url) == 0


def test_a_dry_run_of_redrive_counts_the_dead_letter_queue_and_moves_nothing(
    ops_bin: Path, workdir: Path, aws: dict[str, str]
) -> None:
    # Given a consumer queue whose dead-letter queue holds two messages
    (_, sqs), suffix = clients(aws), uuid.uuid4().hex[:8]
    dlq_url = sqs.create_queue(QueueName=f"ops-alone-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = f"ops-alone-source-{suffix}"
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
    source_url = sqs.create_queue(QueueName=source, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    for order_id in ("P-1", "P-2"):
        sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps({"orderId": order_id}))

    # When `make redrive QUEUE=... DRY_RUN=1` runs the installed command
    result = run(ops_bin, workdir, "pps-redrive", QUEUE=dlq_url, DRY_RUN="1", **aws)

    # Then it counted what it would move where, and left both where they were
    assert result.returncode == 0, result.stderr
    assert "found        2" in result.stdout
    assert f"would move   2  (2 to {source})" in result.stdout
    assert depth(sqs, dlq_url) == 2
    assert depth(sqs, source_url) == 0


def test_pause_and_status_run_from_the_bare_venv_against_the_stack(
    ops_bin: Path, workdir: Path, aws: dict[str, str], stack: Deployment
) -> None:
    # Given the stack created from template.yaml
    mappings = {name: stack.physical_ids[name] for name in stack.event_source_mappings}
    aws_lambda = stack.client("lambda")

    # When the installed commands pause one consumer and list them all
    paused = run(ops_bin, workdir, "pps-pause", CONSUMER="OrdersPlacedFunction", STACK=stack.name, **aws)
    listed = run(ops_bin, workdir, "pps-status", STACK=stack.name, **aws)

    # Then that consumer's mapping alone is off, and the table says so
    assert paused.returncode == 0, paused.stderr
    assert aws_lambda.get_event_source_mapping(UUID=mappings["OrdersPlacedEventSource"])["State"] == "Disabled"
    assert aws_lambda.get_event_source_mapping(UUID=mappings["OrdersUpdatedEventSource"])["State"] == "Enabled"
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()[1:]}
    assert rows == {"OrdersPlacedFunction": "paused", "OrdersUpdatedFunction": "running"}
