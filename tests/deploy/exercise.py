"""Each function's real handler, run against the rehearsed stack with the environment the stack gave it.

AWS is reached through the recording proxy, so every call the code makes is known twice: by name as it went over
the wire (the proxy), and with the resource it named (a hook on the boto3 session the handlers' clients use).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from tests.deploy.iam import Call, CallRecorder
from tests.support.aws_proxy import AwsProxy
from tests.support.receiver import Sandbox
from tests.support.tokens import Signer
from tools.devkit.cloudformation import Stack
from tools.devkit.events import ORDER_BODY, api_event, pps_headers, sqs_event

CLAIM_CHECKED_BYTES = 300_000
"""Above SNS's 256 KiB: the body goes to S3 and the message is a pointer."""
UNMAPPED_TOPIC = "pps/no-topic-is-mapped-to-this"


@dataclass
class Run:
    function: str
    outcomes: dict[str, Any] = field(default_factory=dict)
    """What each scenario answered: an HTTP status, or a consumer's batch response."""
    over_the_wire: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)


@contextmanager
def recorded(run: Run, stack: Stack, proxy: AwsProxy, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A fresh sandbox of `run.function`, with the environment the stack gave it, its AWS calls recorded into `run`."""
    for name, value in {**environment(stack, run.function), "AWS_ENDPOINT_URL": proxy.url}.items():
        monkeypatch.setenv(name, value)
    recorder = CallRecorder()
    session = boto3.session.Session()
    session.events.register("provide-client-params", recorder)
    previous, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, session
    proxy.reset()
    try:
        yield Sandbox(run.function)
    finally:
        boto3.DEFAULT_SESSION = previous
        run.over_the_wire = list(proxy.calls)
        run.calls = list(recorder.calls)
        proxy.reset()


def offloaded_body(order_id: str) -> str:
    prefix = json.dumps({"orderId": order_id, "status": "placed"})[:-1] + ', "blob": "'
    return prefix + "x" * (CLAIM_CHECKED_BYTES - len(prefix) - 2) + '"}'


def receiver(function: str, stack: Stack, proxy: AwsProxy, signer: Signer, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Per mapped X-Pps-Topic a new webhook and a offloaded one; a duplicate; an unmapped topic; a publish
    that fails, so the record is released."""
    run = Run(function)
    settings = environment(stack, function)
    topics = list(json.loads(settings["TOPIC_ARNS"]))
    with recorded(run, stack, proxy, monkeypatch) as sandbox:

        def deliver(label: str, topic: str, body: str, webhook_id: str | None = None) -> dict[str, str]:
            token = signer.token(settings["PPS_ISSUER"], settings["PPS_AUDIENCE"])
            headers = pps_headers(token, topic=topic, webhook_id=webhook_id)
            run.outcomes[label] = sandbox.invoke(api_event("http", headers, body)).status
            return headers

        new = [deliver(f"{topic}: new", topic, ORDER_BODY) for topic in topics]
        for topic in topics:
            deliver(f"{topic}: offloaded", topic, offloaded_body(f"ORD-BIG-{topic}"))
        deliver("duplicate", topics[0], ORDER_BODY, webhook_id=new[0]["X-Pps-Webhook-Id"])
        deliver("unmapped topic", UNMAPPED_TOPIC, ORDER_BODY)
        proxy.fail("sns.Publish")
        deliver("publish fails", topics[0], ORDER_BODY)
        proxy.heal()
    return run


def sqs_consumer(function: str, stack: Stack, proxy: AwsProxy, monkeypatch: pytest.MonkeyPatch) -> Run:
    """One batch of everything waiting in the function's queue, as its event source mapping would pass it."""
    run = Run(function)
    (mapping,) = stack.client("lambda").list_event_source_mappings(FunctionName=stack.physical_ids[function])[
        "EventSourceMappings"
    ]
    queue_arn = mapping["EventSourceArn"]
    messages = receive_all(stack, queue_arn)
    run.outcomes["batch size"] = len(messages)
    offloaded = [m for m in messages if "ExtendedPayloadSize" in m.get("MessageAttributes", {})]
    run.outcomes["offloaded in batch"] = len(offloaded)
    with recorded(run, stack, proxy, monkeypatch) as sandbox:
        run.outcomes["batch"] = sandbox.handle(sqs_event(messages, queue_arn))
    return run


def receive_all(stack: Stack, queue_arn: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
        WaitTimeSeconds=0,
    ).get("Messages", []):
        found.extend(batch)
    return found


def lambda_configuration(stack: Stack, function: str) -> dict[str, Any]:
    configuration: dict[str, Any] = stack.client("lambda").get_function_configuration(
        FunctionName=stack.physical_ids[function]
    )
    return configuration


def environment(stack: Stack, function: str) -> dict[str, str]:
    """The function's environment variables as the created stack set them."""
    variables = lambda_configuration(stack, function).get("Environment", {}).get("Variables", {})
    return {name: str(value) for name, value in variables.items()}
