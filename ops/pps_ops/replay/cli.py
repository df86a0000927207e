"""`make replay` / `pps-replay`: the command line of a replay (`pps-replay --help`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import boto3
import click

from pps_ops.aws import LambdaInvoker, StackReader, aws_config, stack_output
from pps_ops.cli import CONTEXT_SETTINGS, aws_failures, finish, option
from pps_ops.replay.checkpoint import Checkpoint, CheckpointError, default_path, replay_identity
from pps_ops.replay.pacing import Pacer, parse_rate
from pps_ops.replay.replay import replay
from pps_ops.replay.selection import Selection, parse_webhook_ids
from pps_ops.replay.targets import FunctionTarget, QueueTarget, Target
from pps_ops.replay.window import Window, parse_moment

DEFAULT_STACK = "pps-webhooks"
BUCKET_OUTPUT = "ArchiveBucketName"


class Moment(click.ParamType):
    name = "WHEN"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_moment(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


class Rate(click.ParamType):
    name = "PER_SECOND"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_rate(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


def webhook_id_list(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    try:
        return parse_webhook_ids(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from None


def queue_url_not_arn(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value.startswith("arn:aws:sqs:"):
        raise click.BadParameter("give the queue's URL (https://sqs...), not its ARN", ctx, param)
    return value


@click.command(context_settings=CONTEXT_SETTINGS)
@option("--topic", envvar="TOPIC", required=True, metavar="TOPIC", help="X-Pps-Topic to replay, e.g. orders/placed")
@option(
    "--since",
    envvar="SINCE",
    required=True,
    type=Moment(),
    help="Start of the window, inclusive, compared with when SNS published each webhook; UTC unless it names an "
    "offset: 2024-01-01, 2024-01-01T10:05, '2024-01-01 10:05', 2024-01-01T10:05Z, 2024-01-01T11:05+01:00",
)
@option(
    "--until",
    envvar="UNTIL",
    type=Moment(),
    show_default="now",
    help="End of the window, exclusive; same forms as SINCE",
)
@option(
    "--target",
    envvar="TARGET",
    required=True,
    metavar="URL|FUNCTION",
    callback=queue_url_not_arn,
    help="An SQS queue URL, or a Lambda function name or ARN: the ONE consumer to deliver to",
)
@option("--tenant", envvar="TENANT", metavar="TENANT_ID", help="Only the webhooks of this X-Pps-Tenant-Id")
@option(
    "--sub-topic-prefix",
    envvar="SUB_TOPIC_PREFIX",
    metavar="PREFIX",
    help="Only the webhooks whose X-Pps-Sub-Topic starts with PREFIX, e.g. product:adv/",
)
@option(
    "--webhook-ids",
    envvar="WEBHOOK_IDS",
    metavar="IDS|@FILE",
    callback=webhook_id_list,
    help="Only these X-Pps-Webhook-Ids: separated by commas and/or spaces, or @FILE with one per line "
    "(blank lines and # comments ignored); those not in the window are listed, and the exit status is 1",
)
@option(
    "--rate",
    envvar="RATE",
    type=Rate(),
    show_default="as fast as the target takes them",
    help="At most this many webhooks per second (fractions allowed: 0.5 is one every 2 s)",
)
@option(
    "--checkpoint",
    envvar="CHECKPOINT",
    metavar="FILE",
    show_default=".replay/<topic>-<hash of bucket, topic, target, window and filters>.sent",
    help="Where the replay records what it sent, so that the same command again sends only the rest",
)
@option(
    "--restart",
    envvar="RESTART",
    is_flag=True,
    help="Ignore what the checkpoint says was sent, and send everything again (RESTART=1)",
)
@option("--dry-run", envvar="DRY_RUN", is_flag=True, help="Read, count and print the plan, send nothing (DRY_RUN=1)")
@option(
    "--archive-bucket",
    envvar="ARCHIVE_BUCKET",
    metavar="BUCKET",
    show_default=f"the {BUCKET_OUTPUT} output of STACK",
    help="The archive bucket",
)
@option(
    "--stack", envvar="STACK", default=DEFAULT_STACK, show_default=True, metavar="NAME", help="The CloudFormation stack"
)
def main(
    topic: str,
    since: datetime,
    until: datetime | None,
    target: str,
    tenant: str | None,
    sub_topic_prefix: str | None,
    webhook_ids: tuple[str, ...] | None,
    rate: float | None,
    checkpoint: str | None,
    restart: bool,
    dry_run: bool,
    archive_bucket: str | None,
    stack: str,
) -> None:
    """Deliver the archived webhooks of one topic in a time window again, to ONE consumer, all of them or those
    TENANT, SUB_TOPIC_PREFIX and WEBHOOK_IDS select, at most RATE per second.

    Never through the SNS topic: that would reach every subscriber. The archive (SNS -> Firehose -> S3) holds one
    SNS notification per line under webhooks/topic=<X-Pps-Topic, / as _>/date=<UTC day SNS published it>/; only the date
    partitions of the window are read. An SQS queue gets each webhook as raw delivery would put it there (the body,
    the X-Pps-* attributes); a Lambda function is invoked synchronously with the exact event SNS would hand it.
    Consumers must be idempotent (X-Pps-Tenant-Id + X-Pps-Webhook-Id): that is what makes a replay safe.

    The plan (how many webhooks per day the filters select) is printed before anything is sent. Each webhook sent
    is recorded in a checkpoint file: after Ctrl-C, a crash or a failure, the same command again sends only what
    was not sent (at most the one send in flight when it stopped may arrive twice). A completed replay keeps its
    checkpoint, so the same command again sends nothing; RESTART=1 sends everything again.

    Each option can be given as the environment variable it names instead, as make passes its variables on.
    AWS credentials, region and endpoint (AWS_ENDPOINT_URL) come from the standard SDK settings.

    Exit status: 0 all sent, 1 not all (see the summary) or an AWS call failed, 2 a usage error.

    \b
    Examples:
      make replay TOPIC=orders/placed SINCE=2024-01-01 UNTIL=2024-02-01 TARGET=<queue URL> DRY_RUN=1
      make replay TOPIC=orders/placed SINCE='2024-01-01 10:05' UNTIL=2024-01-01T12:00 TARGET=<queue URL> RATE=5
      make replay TOPIC=orders/placed SINCE=2024-01-01 TARGET=<queue URL> TENANT=OU1243 SUB_TOPIC_PREFIX=product:adv/
      make replay TOPIC=orders/placed SINCE=2024-01-01 TARGET=<queue URL> WEBHOOK_IDS=@ids.txt
      pps-replay --topic orders/placed --since 2024-01-01 --target <function name> --dry-run
    """
    try:
        window = Window(since, until or datetime.now(UTC))
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    selection = Selection(tenant, sub_topic_prefix, frozenset(webhook_ids) if webhook_ids is not None else None)
    with aws_failures():
        destination = connect_target(target)
        if archive_bucket is None:
            cloudformation: StackReader = boto3.client("cloudformation", config=aws_config())
            archive_bucket = stack_output(cloudformation, stack, BUCKET_OUTPUT)
        if archive_bucket is None:
            raise click.UsageError(f"stack {stack} has no {BUCKET_OUTPUT} output: set ARCHIVE_BUCKET=<bucket>")
        identity = replay_identity(
            bucket=archive_bucket, topic=topic, target=target, since=since, until=until, selection=selection
        )
        path = Path(checkpoint) if checkpoint else default_path(identity)
        try:
            sent = Checkpoint.load(path, identity, restart=restart, lock=not dry_run)
        except CheckpointError as error:
            raise click.UsageError(str(error)) from None
        summary = replay(
            s3=boto3.client("s3", config=aws_config(read_timeout=60)),
            bucket=archive_bucket,
            topic=topic,
            window=window,
            target=destination,
            sns=boto3.client("sns", config=aws_config()),
            dry_run=dry_run,
            selection=selection,
            checkpoint=sent,
            pacer=Pacer(rate) if rate is not None else None,
            announce=click.echo,
        )
    finish(summary)


def connect_target(text: str) -> Target:
    if text.startswith(("https://", "http://")):
        return QueueTarget.connect(boto3.client("sqs", config=aws_config()), text)
    # Synchronous: the read must outlast the function's own timeout (at most 900 s).
    lambda_client: LambdaInvoker = boto3.client("lambda", config=aws_config(read_timeout=905))
    return FunctionTarget(lambda_client, text)
