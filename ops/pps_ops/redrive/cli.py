"""`make redrive` / `pps-redrive`: the command line of a redrive (`pps-redrive --help`)."""

from __future__ import annotations

import boto3
import click

from pps_ops.aws import LambdaInvoker, aws_config
from pps_ops.cli import CONTEXT_SETTINGS, aws_failures, finish, option
from pps_ops.redrive.archive_stream import ArchiveStream
from pps_ops.redrive.functions import AsyncFunction
from pps_ops.redrive.redrive import redrive


def queue_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise click.BadParameter(f"must be the dead-letter queue's URL (https://sqs...), not {value!r}", ctx, param)
    return value


@click.command(context_settings=CONTEXT_SETTINGS)
@option("--queue", envvar="QUEUE", required=True, metavar="URL", callback=queue_url, help="The dead-letter queue's URL")
@option(
    "--function",
    envvar="FUNCTION",
    metavar="NAME|ARN",
    help="The function whose dead-letter queue it is: required for a Lambda function's DLQ",
)
@option(
    "--stream",
    envvar="STREAM",
    metavar="NAME",
    help="The archive's Firehose stream (output ArchiveStreamName): required for the archive's DLQ",
)
@option("--dry-run", envvar="DRY_RUN", is_flag=True, help="Count what would move (and where), move nothing (DRY_RUN=1)")
@option(
    "--max",
    "limit",
    envvar="MAX",
    type=click.IntRange(min=1),
    metavar="N",
    show_default="what the queue holds when it starts",
    help="Move at most N messages",
)
def main(queue: str, function: str | None, stream: str | None, dry_run: bool, limit: int | None) -> None:
    """Move the messages parked in a dead-letter queue back, so that they are processed again.

    Nothing leaves the dead-letter queue before it is safely somewhere else.

    \b
    - A consumer queue's DLQ (it has source queues): SQS's own redrive, a
      message move task back to the source queues, followed until it is done
      (for a bounded time). Where that API is missing (an emulator) or MAX is
      set (a task cannot be bounded), by hand: receive, send to the source
      queue with the body and message attributes, delete only what was sent.
    - A Lambda function's DLQ (failed asynchronous invocations; no source
      queue): each message body is the original event. FUNCTION is invoked
      with it asynchronously, and the message deleted after the 202. What SNS
      could not deliver to the function (the subscription's RedrivePolicy
      parks it in the same queue) is invoked as the SNS event it missed.
    - The archive's DLQ (what SNS could not hand to the archive stream):
      STREAM names the Firehose stream, and each notification is put into it
      as SNS would have.

    Consumers must be idempotent (X-Pps-Tenant-Id + X-Pps-Webhook-Id): a redriven message may have been partly
    processed before.

    Each option can be given as the environment variable it names instead, as make passes its variables on.
    AWS credentials, region and endpoint (AWS_ENDPOINT_URL) come from the standard SDK settings.

    Exit status: 0 all moved, 1 not all (see the summary) or an AWS call failed, 2 a usage error.

    \b
    Examples:
      make redrive QUEUE=<dead-letter queue URL> DRY_RUN=1
      make redrive QUEUE=<a make-consumer function's DLQ URL> FUNCTION=<function name>
      pps-redrive --queue <ArchiveDeadLetterQueueUrl> --stream <ArchiveStreamName> --max 100
    """
    with aws_failures():
        summary = redrive(
            boto3.client("sqs", config=aws_config()),
            queue,
            function=async_function(function) if function else None,
            stream=archive_stream(stream) if stream else None,
            dry_run=dry_run,
            limit=limit,
        )
    finish(summary)


def async_function(name: str) -> AsyncFunction:
    lambda_client: LambdaInvoker = boto3.client("lambda", config=aws_config())
    return AsyncFunction(lambda_client, name)


def archive_stream(name: str) -> ArchiveStream:
    return ArchiveStream(boto3.client("firehose", config=aws_config()), name, boto3.client("s3", config=aws_config()))
