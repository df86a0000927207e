"""A consumer added with `make consumer` (an SNS event with a sub-topic filter policy, and a DeadLetterQueue)
gets its deliveries in the local run. It runs in a copy of the repository, so the real template is untouched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.local_run import LocalRun, eventually, local_run_in, python_path
from tools.devkit.paths import ROOT

# The tools themselves come from this repository (installed): the run acts on the copy it is started in.
COPIED = ("template.yaml", "events", "functions", "layers/common")
CONSUMER = "InvoiceSyncFunction"
QUEUE = "local-InvoiceSyncFunction-InvoiceSyncFunctionWebhooks"
"""Where the run delivers the consumer's SNS subscription (InvoiceSyncFunctionWebhooks, its Webhooks event)."""
LOGIC = '''"""Fails the webhooks whose body asks for it."""

from pps_webhooks.deliveries import WebhookEvent


def handle(webhook: WebhookEvent) -> None:
    if webhook.body.get("fail"):
        raise RuntimeError("asked to fail")
'''


def copy_of_the_repository(target: Path) -> Path:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRun]:
    root = copy_of_the_repository(tmp_path_factory.mktemp("repository"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.scaffold.consumer",
            "invoice-sync",
            "orders/placed",
            "--sub-topic-prefix",
            "product:adv/",
        ],
        cwd=root,
        env={**os.environ, "PYTHONPATH": python_path(root)},
        capture_output=True,
        timeout=30,
        check=True,
    )
    (root / "functions" / "invoice_sync" / "logic.py").write_text(LOGIC)
    with local_run_in(root, root / "local-run-output.txt") as run:
        yield run


def test_it_gets_the_webhooks_its_filter_policy_lets_through(local_run: LocalRun) -> None:
    wanted, other = str(uuid.uuid4()), str(uuid.uuid4())
    body = json.dumps({"orderId": "ORD-SNS-1"})

    assert local_run.post(body, webhook_id=wanted, sub_topic="product:adv/adv-120")[0] == 200
    assert local_run.post(body, webhook_id=other, sub_topic="product:print/p-7")[0] == 200

    eventually(lambda: f"{CONSUMER}  ok  webhook {wanted}" in local_run.output(), f"{CONSUMER} invoked")
    eventually(lambda: f"OrdersPlacedFunction  ok  webhook {other}" in local_run.output(), "the other delivered")
    eventually(lambda: local_run.drained(local_run.queue_url(QUEUE)), f"{CONSUMER}'s deliveries all processed")
    assert f"webhook {other}" not in "\n".join(line for line in local_run.output().splitlines() if CONSUMER in line)


def test_a_delivery_it_fails_is_retried_then_parked_in_its_dead_letter_queue(local_run: LocalRun) -> None:
    failing = str(uuid.uuid4())

    assert local_run.post(json.dumps({"orderId": "ORD-SNS-2", "fail": True}), webhook_id=failing)[0] == 200

    def parked() -> list[dict[str, Any]]:
        return [
            message
            for message in local_run.dead_letters(local_run.physical_id("InvoiceSyncDeadLetterQueue"))
            if json.loads(message["Body"])["Records"][0]["Sns"]["MessageAttributes"]["X-Pps-Webhook-Id"]["Value"]
            == failing
        ]

    message = eventually(parked, f"the failed delivery in {CONSUMER}'s dead-letter queue")[0]
    assert message["MessageAttributes"] == {
        "RequestID": message["MessageAttributes"]["RequestID"],
        "ErrorCode": {"StringValue": "200", "DataType": "Number"},
        "ErrorMessage": {"StringValue": "RuntimeError: asked to fail", "DataType": "String"},
    }
    assert f"{CONSUMER}  failed (attempt 2 of 3), will retry  webhook {failing}" in local_run.output()
