"""Lambda's event sources for SQS and SNS events, as threads polling the emulator's queues.

SQS: like an event source mapping, receive a batch, invoke, delete what succeeded. A failed message is
made visible again after 2 s (not the queue's visibility timeout) so local retries are quick; the
emulator moves it to the dead-letter queue once the RedrivePolicy's maxReceiveCount is used up. The mapping's
live State is the switch, as in Lambda: read before each receive (a loopback call), and while it is Disabled
(`make pause`) nothing is received, so the webhooks wait in the queue until `make resume`; a batch received while
the pause landed goes back to the queue uninvoked (that receive counts toward maxReceiveCount, as one by Lambda's
own poller would).
SNS: the topic delivers (enveloped, filter policy applied) to an internal queue; each notification is
one invocation, retried twice on failure like an asynchronous invocation, then sent to the function's
DeadLetterQueue if it has one.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.consumers import PAUSED_STATES
from pps_ops.sqs_reads import release
from tools.devkit import stack
from tools.devkit.cloudformation import subscribe
from tools.devkit.events import sns_event, sqs_event
from tools.devkit.invoker import Function, Invocation
from tools.local.console import DELIVERY, NOTE, shown
from tools.local.views import Describe

RETRY_AFTER_SECONDS = 2
PAUSED_CHECK_SECONDS = 1
SNS_ATTEMPTS = 3
WEBHOOK_ID = "X-Pps-Webhook-Id"

"""(message attributes, body) of a processed delivery -> a line about what it changed, if any."""


@dataclass
class Poller:
    function: Function
    source: str
    """Where deliveries come from, for the console: a queue or topic name."""
    run: Callable[[], None]
    mapping: str | None = None
    """The logical id of its event source mapping (an SQS poller): what `make pause` switches."""


@dataclass
class _Context:
    deployment: stack.Deployment
    say: logging.Logger
    stop: threading.Event
    describe: Mapping[str, Describe]


def pollers(
    deployment: stack.Deployment,
    functions: Sequence[Function],
    say: logging.Logger,
    stop: threading.Event,
    describe: Mapping[str, Describe],
) -> list[Poller]:
    """One poller per SQS or SNS event of each function; other event types are not polled.

    `describe` gives, by function, a line about what a processed delivery changed.
    """
    context = _Context(deployment, say, stop, describe)
    found = []
    for function in functions:
        for name, event in function.spec.events.items():
            properties = event.get("Properties") or {}
            if event.get("Type") == "SQS":  # created disabled or not: its live State decides
                found.append(_sqs(context, function, name, properties))
            elif event.get("Type") == "SNS":
                found.append(_sns(context, function, name, properties))
    return found


def start(found: Sequence[Poller]) -> list[threading.Thread]:
    threads = [threading.Thread(target=poller.run, name=poller.function.name, daemon=True) for poller in found]
    for thread in threads:
        thread.start()
    return threads


def _sqs(context: _Context, function: Function, mapping: str, properties: Mapping[str, Any]) -> Poller:
    queue_arn = str(properties["Queue"])
    mapping_id = context.deployment.physical_ids[mapping]
    aws_lambda = context.deployment.client("lambda")
    queue = queue_arn.rsplit(":", 1)[-1]
    sqs = context.deployment.client("sqs")
    url = _queue_url(context.deployment, queue_arn)
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"].get(
            "RedrivePolicy", "{}"
        )
    )
    max_receives = int(redrive.get("maxReceiveCount", 0))
    dead_letters = str(redrive.get("deadLetterTargetArn", "")).rsplit(":", 1)[-1]
    batch_size = min(int(properties.get("BatchSize", 10)), 10)
    reports_failures = "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or [])
    say = context.say

    def deliver(messages: list[dict[str, Any]]) -> None:
        invocation = function.invoke(sqs_event(messages, queue_arn))
        failed = _failed_ids(invocation, messages, reports_failures)
        done = [message for message in messages if message["MessageId"] not in failed]
        failures = [message for message in messages if message["MessageId"] in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)],
            )
            say.info(f"{DELIVERY} {function.name}  ok  {_labels(done)}  {invocation.seconds * 1000:.0f} ms")
            _describe(context, function, [(_attributes(m), m["Body"]) for m in done])
        if failures:
            sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": RETRY_AFTER_SECONDS}
                    for n, m in enumerate(failures)
                ],
            )
        reasons = _reasons(invocation, len(failures))
        for message, reason in zip(failures, reasons, strict=True):
            attempt = int(message["Attributes"].get("ApproximateReceiveCount", "1"))
            if max_receives and attempt >= max_receives:
                outcome = f"failed {attempt} times: parked in {dead_letters}"
            elif max_receives:
                outcome = f"failed (attempt {attempt} of {max_receives}), will retry in {RETRY_AFTER_SECONDS} s"
            else:
                outcome = f"failed (attempt {attempt}), will retry in {RETRY_AFTER_SECONDS} s"
            say.warning(f"{DELIVERY} {function.name}  {outcome}  {_labels([message])}: {reason}")

    def polls(was: bool | None) -> bool:
        """Whether the mapping is switched on now; a line on the console when that changed."""
        state = str(aws_lambda.get_event_source_mapping(UUID=mapping_id).get("State", ""))
        now = state not in PAUSED_STATES
        if was is not None and now and not was:
            say.info(f"{DELIVERY} {function.name}  resumed: receiving from {queue} again")
        elif not now and was is not False:
            say.info(
                f"{DELIVERY} {function.name}  paused (its event source mapping is {state}): webhooks wait in "
                f"{queue} (make resume CONSUMER={function.name})"
            )
        return now

    def run() -> None:
        running: bool | None = None
        while not context.stop.is_set():
            try:
                running = polls(running)
                if not running:
                    context.stop.wait(PAUSED_CHECK_SECONDS)
                    continue
                messages = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=batch_size,
                    WaitTimeSeconds=1,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if messages and not context.stop.is_set():
                    # Paused while the receive waited (up to 1 s): Lambda invokes nothing once the mapping is
                    # Disabled, so what was just received goes back to the queue, uninvoked.
                    running = polls(running)
                    if running:
                        deliver(messages)
                    else:
                        put_back(messages)
            except (BotoCoreError, ClientError) as error:
                _unavailable(context, function, queue, error)

    def put_back(messages: list[dict[str, Any]]) -> None:
        if failed := release(sqs, url, [message["ReceiptHandle"] for message in messages]):
            say.warning(
                f"{DELIVERY} {function.name}  paused: {failed} received just before could not be put back at "
                f"once; they reappear in {queue} after its visibility timeout"
            )

    return Poller(function, queue, run, mapping)


def _sns(context: _Context, function: Function, event_name: str, properties: Mapping[str, Any]) -> Poller:
    topic_arn = str(properties["Topic"])
    sns, sqs = context.deployment.client("sns"), context.deployment.client("sqs")
    queue = f"local-{function.name}-{event_name}"[:80]
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    filtering = {name: properties.get(name) for name in ("FilterPolicy", "FilterPolicyScope")}
    subscription = subscribe(sns, topic_arn, "sqs", queue_arn, filtering)
    dead_letters = _dead_letter_queue(context.deployment, function)
    say = context.say

    def deliver(message: dict[str, Any]) -> None:
        envelope = json.loads(message["Body"])
        event = sns_event(envelope, subscription)
        attributes = {
            name: str(value.get("Value", "")) for name, value in event["Records"][0]["Sns"]["MessageAttributes"].items()
        }
        label = _label(attributes, envelope["MessageId"])
        for attempt in range(1, SNS_ATTEMPTS + 1):
            invocation = function.invoke(event)
            if invocation.error is None:
                say.info(f"{DELIVERY} {function.name}  ok  {label}  {invocation.seconds * 1000:.0f} ms")
                _describe(context, function, [(attributes, envelope["Message"])])
                return
            reason = _reasons(invocation, 1)[0]
            if attempt < SNS_ATTEMPTS:
                outcome = f"failed (attempt {attempt} of {SNS_ATTEMPTS}), will retry"
                say.warning(f"{DELIVERY} {function.name}  {outcome}  {label}: {reason}")
                if context.stop.wait(1):
                    return
        outcome = f"failed {SNS_ATTEMPTS} times: lost (it has no DeadLetterQueue)"
        if dead_letters is not None:
            name, dead_letter_url = dead_letters
            # What Lambda sends a function's dead-letter queue: the event, and why it failed.
            sqs.send_message(
                QueueUrl=dead_letter_url,
                MessageBody=json.dumps(event),
                MessageAttributes={
                    "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                    "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                    "ErrorMessage": {"DataType": "String", "StringValue": reason[:1024]},
                },
            )
            outcome = f"failed {SNS_ATTEMPTS} times: parked in {name}"
        say.warning(f"{DELIVERY} {function.name}  {outcome}  {label}: {reason}")

    def run() -> None:
        while not context.stop.is_set():
            try:
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                    "Messages", []
                )
                for message in messages:
                    if context.stop.is_set():
                        return
                    deliver(message)
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            except (BotoCoreError, ClientError) as error:
                _unavailable(context, function, queue, error)

    return Poller(function, topic_arn.rsplit(":", 1)[-1], run)


def _failed_ids(invocation: Invocation, messages: Sequence[Mapping[str, Any]], reports_failures: bool) -> set[str]:
    """As Lambda reads a response: an exception, or a malformed batchItemFailures, fails the whole batch."""
    everything = {str(message["MessageId"]) for message in messages}
    if invocation.error is not None:
        return everything
    if not reports_failures:
        return set()
    result = invocation.result if isinstance(invocation.result, dict) else {}
    failures = result.get("batchItemFailures") or []
    ids = {str(failure.get("itemIdentifier") or "") for failure in failures if isinstance(failure, dict)}
    if len(ids) != len(failures) or not ids <= everything:
        return everything
    return ids


def _reasons(invocation: Invocation, count: int) -> list[str]:
    """One reason per failed message: in order when the function logged one each, else all of them."""
    problems = invocation.problems
    if len(problems) == count:
        return problems
    fallback = "; ".join(dict.fromkeys(problems))
    if not fallback and invocation.error is not None:
        fallback = f"{type(invocation.error).__name__}: {str(invocation.error).splitlines()[0]}"
    return [fallback or "reported as failed"] * count


def _dead_letter_queue(deployment: stack.Deployment, function: Function) -> tuple[str, str] | None:
    properties = deployment.source["Resources"][function.name]["Properties"]
    target = deployment.resolver().resolve(properties.get("DeadLetterQueue") or {})
    if target.get("Type") != "SQS":
        return None
    arn = str(target["TargetArn"])
    return arn.rsplit(":", 1)[-1], _queue_url(deployment, arn)


def _queue_url(deployment: stack.Deployment, arn: str) -> str:
    """A stack queue's URL (its Ref), found by its ARN; any other queue by its name."""
    name = deployment.logical_id_of(arn, "AWS::SQS::Queue")
    if name is not None:
        return deployment.refs[name]
    url: str = deployment.client("sqs").get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
    return url


def _unavailable(context: _Context, function: Function, queue: str, error: Exception) -> None:
    if not context.stop.is_set():
        context.say.warning(f"{DELIVERY} {function.name}  cannot read {queue} ({error}); trying again")
        context.stop.wait(1)


def _attributes(message: Mapping[str, Any]) -> dict[str, str]:
    attributes = message.get("MessageAttributes") or {}
    return {name: str(value.get("StringValue", "")) for name, value in attributes.items()}


def _label(attributes: Mapping[str, str], message_id: str) -> str:
    webhook_id = attributes.get(WEBHOOK_ID)
    return f"webhook {shown(webhook_id)}" if webhook_id else f"message {message_id}"


def _labels(messages: Sequence[Mapping[str, Any]]) -> str:
    return ", ".join(_label(_attributes(message), str(message["MessageId"])) for message in messages)


def _describe(context: _Context, function: Function, deliveries: Sequence[tuple[Mapping[str, str], str]]) -> None:
    describe = context.describe.get(function.name)
    if describe is None:
        return
    for attributes, body in deliveries:
        line = describe(attributes, body)
        if line:
            context.say.info(f"{NOTE} {line}")
