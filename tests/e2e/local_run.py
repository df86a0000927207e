"""`make run` as a subprocess (or its command, in a copy of the project), and the calls tests make to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.make import make as run_make
from tools.devkit import dev_key
from tools.devkit.emulator import STACK_NAME, free_port
from tools.devkit.events import pps_headers
from tools.local.send import pps_timestamp

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, whatever the proxy settings


def eventually[T](check: Callable[[], T | None], what: str, timeout: float = 20) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.2)


@dataclass
class LocalRun:
    process: subprocess.Popen[bytes]
    log: Path
    url: str
    aws_endpoint: str
    tokens_sent: list[str] = field(default_factory=list)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ready(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"the local run exited with {self.process.returncode}:\n{self.output()}")
        try:
            with OPENER.open(f"{self.url}/.well-known/jwks.json", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> int:
        """Ctrl-C, as a developer stops it: the terminal interrupts make and the command it runs."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=20)

    def post(
        self,
        body: str,
        *,
        topic: str = "orders/placed",
        sub_topic: str = "product:adv/adv-120",
        webhook_id: str | None = None,
        triggered_at: str | None = None,
        token: str | None = None,
        without: tuple[str, ...] = (),
    ) -> tuple[int, dict[str, Any]]:
        token = token or dev_key.token()
        self.tokens_sent.append(token)
        headers = {
            "Content-Type": "application/json",
            **pps_headers(
                token,
                topic=topic,
                sub_topic=sub_topic,
                webhook_id=webhook_id,
                triggered_at=triggered_at or pps_timestamp(),
            ),
        }
        for name in without:
            del headers[name]
        request = urllib.request.Request(f"{self.url}/webhooks", data=body.encode(), headers=headers, method="POST")
        try:
            with OPENER.open(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.aws_endpoint, region_name="us-east-1")  # type: ignore[call-overload]

    def physical_id(self, logical_id: str) -> str:
        """What CloudFormation named a resource of the run's stack (a queue: its URL)."""
        detail = self.client("cloudformation").describe_stack_resource(
            StackName=STACK_NAME, LogicalResourceId=logical_id
        )["StackResourceDetail"]
        return str(detail["PhysicalResourceId"])

    def order(self, order_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = (
            self.client("dynamodb")
            .get_item(
                TableName=self.physical_id("OrdersTable"),
                Key={"tenantId": {"S": "OU1243"}, "orderId": {"S": order_id}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return item

    def drained(self, queue_url: str) -> bool:
        """Every message of the queue processed: none waiting, none being processed."""
        sqs = self.client("sqs")
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(value == "0" for value in attributes.values())

    def make(self, target: str, **variables: str) -> subprocess.CompletedProcess[str]:
        """`make <target> NAME=value...` of this repository, its AWS SDK pointed at the run's emulator: the operator
        commands (`make status`, `make pause`), as the banner says to run them."""
        return run_make(target, self.aws_endpoint, variables)

    def dead_letters(self, queue_url: str) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        messages: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        ).get("Messages", [])
        return messages


MAKE_RUN = ["make", "--no-print-directory", "run"]
PPS_RUN = [str(Path(sys.executable).parent / "pps-run")]
"""What `make run` runs: for a copy of the project, which has no venv of its own to make."""


@contextmanager
def local_run_in(root: Path, log: Path, command: list[str] = MAKE_RUN) -> Iterator[LocalRun]:
    """The local run of the project at `root` (its directory holds the template it runs), on free ports, until the
    block ends."""
    port, aws_port = free_port(), free_port()
    env = {**os.environ, "PORT": str(port), "LOCAL_AWS_PORT": str(aws_port)}
    with log.open("wb") as output:
        # A session of its own: stopping it stops make's child too, as Ctrl-C in a terminal does.
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    run = LocalRun(process, log, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{aws_port}")
    try:
        eventually(run.ready, "the local run serving its JWKS", timeout=30)
        yield run
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
