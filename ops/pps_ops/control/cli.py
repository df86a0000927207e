"""`make pause` / `make resume` / `make status` (`pps-pause`, `pps-resume`, `pps-status`): the command lines."""

from __future__ import annotations

from typing import Any

import boto3
import click

from pps_ops.aws import aws_config
from pps_ops.cli import CONTEXT_SETTINGS, aws_failures, finish, option
from pps_ops.consumers import Consumer, UnknownConsumer, consumers, named
from pps_ops.control import status as status_of
from pps_ops.control.switch import pause, resume

DEFAULT_STACK = "pps-webhooks"
stack_option = option(
    "--stack", envvar="STACK", default=DEFAULT_STACK, show_default=True, metavar="NAME", help="The CloudFormation stack"
)
consumer_option = option(
    "--consumer",
    envvar="CONSUMER",
    required=True,
    metavar="NAME",
    help="The consumer: its function's logical id (OrdersPlacedFunction) or physical name",
)


def _client(service: str) -> Any:
    return boto3.client(service, config=aws_config())  # type: ignore[call-overload]


def _consumers(stack: str, sqs: Any = None) -> list[Consumer]:
    return consumers(_client("cloudformation"), _client("lambda"), sqs or _client("sqs"), stack)


def _named(stack: str, name: str) -> list[Consumer]:
    try:
        return named(_consumers(stack), name)
    except UnknownConsumer as error:
        raise click.UsageError(str(error)) from None


@click.command(context_settings=CONTEXT_SETTINGS)
@consumer_option
@stack_option
def pause_main(consumer: str, stack: str) -> None:
    """Pause a consumer: switch its event source mapping off (Enabled=false).

    Its webhooks wait in its SQS queue meanwhile (kept 14 days after each arrived), and nothing else changes: SNS
    keeps delivering to the queue, the receiver keeps answering PPS, the other consumers keep receiving. In AWS the
    mapping is "pausing" (Disabling) for a few seconds; invocations already running finish. Pausing a paused
    consumer does nothing, and says so. The <Consumer>QueueAgeAlarm (OrdersPlacedQueueAgeAlarm) fires once its
    oldest webhook gets old.

    Each option can be given as the environment variable it names instead, as make passes its variables on.
    AWS credentials, region and endpoint (AWS_ENDPOINT_URL) come from the standard SDK settings. Needs
    lambda:UpdateEventSourceMapping, lambda:GetEventSourceMapping, cloudformation:ListStackResources,
    sqs:GetQueueUrl, sqs:GetQueueAttributes.

    Exit status: 0 paused (or paused already), 1 an AWS call failed, 2 a usage error (an unknown CONSUMER: the
    stack's consumers are listed).

    \b
    Examples:
      make pause CONSUMER=OrdersPlacedFunction
      pps-pause --consumer pps-webhooks-OrdersPlacedFunction-1A2B3C --stack pps-webhooks
    """
    with aws_failures():
        summary = pause(_client("lambda"), _client("sqs"), _named(stack, consumer))
    finish(summary)


@click.command(context_settings=CONTEXT_SETTINGS)
@consumer_option
@stack_option
def resume_main(consumer: str, stack: str) -> None:
    """Resume a paused consumer: switch its event source mapping on again (Enabled=true).

    Lambda then works through what waited in its queue, at the mapping's MaximumConcurrency. Resuming a running
    consumer does nothing, and says so.

    Each option can be given as the environment variable it names instead, as make passes its variables on.
    AWS credentials, region and endpoint (AWS_ENDPOINT_URL) come from the standard SDK settings. Needs
    lambda:UpdateEventSourceMapping, lambda:GetEventSourceMapping, cloudformation:ListStackResources,
    sqs:GetQueueUrl, sqs:GetQueueAttributes.

    Exit status: 0 resumed (or running already), 1 an AWS call failed, 2 a usage error (an unknown CONSUMER: the
    stack's consumers are listed).

    \b
    Examples:
      make resume CONSUMER=OrdersPlacedFunction
      pps-resume --consumer OrdersPlacedFunction
    """
    with aws_failures():
        summary = resume(_client("lambda"), _named(stack, consumer))
    finish(summary)


@click.command(context_settings=CONTEXT_SETTINGS)
@stack_option
def status_main(stack: str) -> None:
    """Every consumer of the stack, one row each: running or paused, its queue's depth, its oldest webhook's age,
    its dead letters.

    \b
    CONSUMER         the function's logical id (make pause CONSUMER=...)
    STATE            running, paused, or a transition: pausing (Disabling),
                     resuming (Enabling), updating, creating
    WAITING          messages in its queue not received yet (visible)
    IN FLIGHT        received, not deleted yet: being processed, or failed
                     and waiting to be retried
    OLDEST           age of its queue's oldest message: CloudWatch's AWS/SQS
                     ApproximateAgeOfOldestMessage, the latest Maximum of the
                     last 10 minutes. SQS publishes it once a minute, so it
                     lags a minute or more; "-" when there is no datapoint,
                     0s when the queue is empty now
    DEAD LETTERS     messages in its dead-letter queue
    MAX CONCURRENCY  the mapping's MaximumConcurrency ("-": not set)
    QUEUE            its queue's name

    Nothing is received from any queue (a receive would count toward maxReceiveCount).

    Each option can be given as the environment variable it names instead, as make passes its variables on.
    AWS credentials, region and endpoint (AWS_ENDPOINT_URL) come from the standard SDK settings. Needs
    cloudformation:ListStackResources, lambda:GetEventSourceMapping, sqs:GetQueueUrl, sqs:GetQueueAttributes,
    cloudwatch:GetMetricData.

    Exit status: 0 shown, 1 an AWS call failed, 2 a usage error.

    \b
    Examples:
      make status
      make status STACK=pps-webhooks-staging
    """
    with aws_failures():
        sqs = _client("sqs")
        found = _consumers(stack, sqs)
        if not found:
            click.echo(f"stack {stack} has no consumers (no SQS event source mappings)")
            return
        rows = status_of.rows(sqs, _client("cloudwatch"), found)
    for line in status_of.lines(rows):
        click.echo(line)
