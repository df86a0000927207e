"""A consumer added with `make consumer` gets its deliveries in the local run: the topic feeds its queue (raw, through
its sub-topic filter policy), the queue's event source mapping feeds its function, and what the function fails is
retried, then parked in its dead-letter queue. It runs in a copy of the repository, so the real template is
untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.local_run import PPS_RUN, LocalRun, eventually, local_run_in
from tests.support.project import copy_of_the_project
from tools.devkit.paths import PROJECT_ENV

CONSUMER, QUEUE, DEAD_LETTERS = "InvoiceSyncFunction", "InvoiceSyncQueue", "InvoiceSyncDeadLetterQueue"
TRIES = 5
"""ConsumerMaxReceiveCount's default."""
LOGIC = '''"""Fails the webhooks whose body asks for it."""

from pps_webhooks.deliveries import WebhookEvent


def handle(webhook: WebhookEvent) -> None:
    if webhook.body.get("fail"):
        raise RuntimeError("asked to fail")
'''


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRun]:
    root = copy_of_the_project(tmp_path_factory.mktemp("repository"))
    # What `make consumer NAME=invoice-sync TOPIC=orders/placed SUB_TOPIC_PREFIX=product:adv/` runs, in the copy.
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pps-consumer"),
            "invoice-sync",
            "orders/placed",
            "--sub-topic-prefix",
            "product:adv/",
            "--maximum-concurrency",
            "5",
        ],
        cwd=root,
        env={name: value for name, value in os.environ.items() if name != PROJECT_ENV},
        capture_output=True,
        timeout=30,
        check=True,
    )
    (root / "functions" / "invoice_sync" / "logic.py").write_text(LOGIC)
    with local_run_in(root, root / "local-run-output.txt", PPS_RUN) as run:
        yield run


def consumer_lines(local_run: LocalRun) -> str:
    return "\n".join(line for line in local_run.output().splitlines() if f" {CONSUMER}  " in line)


def test_it_gets_the_webhooks_its_filter_policy_lets_through(local_run: LocalRun) -> None:
    wanted, other = str(uuid.uuid4()), str(uuid.uuid4())
    body = json.dumps({"orderId": "ORD-NEW-1"})

    assert local_run.post(body, webhook_id=wanted, sub_topic="product:adv/adv-120")[0] == 200
    assert local_run.post(body, webhook_id=other, sub_topic="product:print/p-7")[0] == 200

    eventually(
        lambda: any(f"webhook {wanted}" in line for line in consumer_lines(local_run).splitlines() if "  ok  " in line),
        f"{CONSUMER} processed it",
    )
    eventually(lambda: f"OrdersPlacedFunction  ok  webhook {other}" in local_run.output(), "the other delivered")
    eventually(lambda: local_run.drained(local_run.physical_id(QUEUE)), f"{QUEUE} drained")
    assert f"webhook {other}" not in consumer_lines(local_run)


def test_a_delivery_it_fails_is_retried_then_parked_in_its_dead_letter_queue(local_run: LocalRun) -> None:
    failing = str(uuid.uuid4())
    body = json.dumps({"orderId": "ORD-NEW-2", "fail": True})

    assert local_run.post(body, webhook_id=failing)[0] == 200

    def parked() -> list[dict[str, Any]]:
        return [
            message
            for message in local_run.dead_letters(local_run.physical_id(DEAD_LETTERS))
            if message["MessageAttributes"]["X-Pps-Webhook-Id"]["StringValue"] == failing
        ]

    (message,) = eventually(parked, f"the failed delivery in {DEAD_LETTERS}", timeout=60)
    assert message["Body"] == body  # raw, as SNS delivered it to the queue
    assert message["MessageAttributes"]["X-Pps-Sub-Topic"]["StringValue"] == "product:adv/adv-120"
    lines = consumer_lines(local_run)
    assert f"failed (attempt 1 of {TRIES}), will retry in 2 s  webhook {failing}: RuntimeError: asked to fail" in lines
    assert (
        f"failed {TRIES} times: parked in {local_run.physical_id(DEAD_LETTERS).rsplit('/', 1)[-1]}  webhook {failing}"
        in lines
    )
    eventually(lambda: local_run.drained(local_run.physical_id(QUEUE)), f"{QUEUE} drained")
