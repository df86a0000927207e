"""`make find` / `pps-find`: the command line (`pps-find --help`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import click

from pps_ops.aws import aws_config, stack_outputs
from pps_ops.cli import CONTEXT_SETTINGS, aws_failures, finish, option
from pps_ops.consumers import consumers
from pps_ops.find.archive import QueryFailed, run_query, topic_partitions
from pps_ops.find.query import find_query
from pps_ops.find.queues import MAX_RECEIVES, search_consumers
from pps_ops.find.summary import Summary
from pps_ops.replay.cli import Moment

DEFAULT_STACK = "pps-webhooks"
DEFAULT_DAYS = 30
OUTPUTS = {
    "bucket": "ArchiveBucketName",
    "database": "ArchiveDatabaseName",
    "table": "ArchiveTableName",
    "workgroup": "ArchiveWorkGroupName",
}


@click.command(context_settings=CONTEXT_SETTINGS)
@option("--webhook-id", envvar="WEBHOOK_ID", required=True, metavar="ID", help="The X-Pps-Webhook-Id, matched exactly")
@option("--tenant", envvar="TENANT", metavar="TENANT", help="Only this X-Pps-Tenant-Id (ids are unique per tenant)")
@option(
    "--since",
    envvar="SINCE",
    type=Moment(),
    show_default=f"{DEFAULT_DAYS} days ago",
    help="How far back to look in the archive (UTC unless it names an offset): 2024-01-01 or 2024-01-01T10:00Z. "
    "Only the date partitions from then on are read: this bounds what Athena scans and bills",
)
@option(
    "--timeout",
    envvar="TIMEOUT",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    help="Seconds to wait for the Athena query",
)
@option(
    "--max-receives",
    envvar="MAX_RECEIVES",
    type=click.IntRange(min=1),
    default=MAX_RECEIVES,
    show_default=True,
    help="Receives (of up to 10 messages) per queue before its search stops and says it was not searched fully",
)
@option(
    "--archive-bucket",
    envvar="ARCHIVE_BUCKET",
    metavar="BUCKET",
    show_default="output ArchiveBucketName of STACK",
    help="The archive bucket (its webhooks/topic=... prefixes are the topics queried)",
)
@option(
    "--database",
    envvar="DATABASE",
    metavar="NAME",
    show_default="output ArchiveDatabaseName of STACK",
    help="The Glue database of the archive table",
)
@option("--table", envvar="TABLE", metavar="NAME", show_default="output ArchiveTableName of STACK", help="The table")
@option(
    "--workgroup",
    envvar="WORKGROUP",
    metavar="NAME",
    show_default="output ArchiveWorkGroupName of STACK",
    help="The Athena workgroup (its result location and scan cutoff apply)",
)
@option(
    "--stack", envvar="STACK", default=DEFAULT_STACK, show_default=True, metavar="NAME", help="The CloudFormation stack"
)
def main(
    webhook_id: str,
    tenant: str | None,
    since: datetime | None,
    timeout: float,
    max_receives: int,
    archive_bucket: str | None,
    database: str | None,
    table: str | None,
    workgroup: str | None,
    stack: str,
) -> None:
    """Find one webhook: when it arrived, its topic and sub-topic, whether its body was claim-checked, and which
    consumers' queues or dead-letter queues still hold it.

    First the archive, in SQL: one Athena query in the stack's workgroup, on the archive table, reading only the
    date partitions since SINCE of the topics the archive holds (one S3 listing finds them). Every delivery of the
    id is listed: a webhook SNS delivered twice, replayed, or the same id of two tenants (TENANT= narrows).

    Then the queues. Each consumer's dead-letter queue is searched by receiving its messages and putting them back
    at once (they stay invisible only while it is searched). A consumer's own queue is searched only while the
    consumer is paused (its event source mapping disabled): a running consumer's queue is reported as "not
    searched: consumer running", as each receive would count toward its maxReceiveCount, and could move a message
    to the dead-letter queue, while what it holds is in flight or processed within seconds anyway. A search of a
    paused consumer's queue does count one receive per message.

    Each option can be given as the environment variable it names instead, as make passes its variables on.
    AWS credentials, region and endpoint (AWS_ENDPOINT_URL) come from the standard SDK settings.

    Exit status: 0 found (archived, or in a queue), 1 not found or an AWS call failed, 2 a usage error.

    \b
    Examples:
      make find WEBHOOK_ID=7f3c2a9e-1b4d-4c8e-9f10-2a3b4c5d6e7f
      make find WEBHOOK_ID=7f3c2a9e-1b4d-4c8e-9f10-2a3b4c5d6e7f TENANT=OU1243 SINCE=2024-01-01
    """
    since = since or datetime.now(UTC) - timedelta(days=DEFAULT_DAYS)
    if since > datetime.now(UTC):
        raise click.UsageError(f"SINCE ({since.isoformat()}) is in the future")
    with aws_failures():
        names = resolve_names(stack, archive_bucket, database, table, workgroup)
        summary = Summary(webhook_id, tenant, since, names["bucket"])
        summary.partitions = topic_partitions(boto3.client("s3", config=aws_config()), names["bucket"])
        if summary.partitions:
            click.echo(f"Querying the archive in Athena ({len(summary.partitions)} topics)...", err=True)
            athena = boto3.client("athena", config=aws_config())
            query = find_query(names["database"], names["table"], summary.partitions, since, webhook_id, tenant)
            try:
                outcome = run_query(athena, names["workgroup"], query, timeout=timeout)
            except QueryFailed as error:
                summary.archive_failed = True
                summary.notes.append(f"{error}; the archive was not searched")
            else:
                summary.sightings, summary.query_id = outcome.sightings, outcome.query_id
                summary.scanned_bytes = outcome.scanned_bytes
        else:
            summary.notes.append("the archive holds no topic=... partition yet: nothing was queried")
        click.echo("Searching the consumers' queues...", err=True)
        sqs, aws_lambda = boto3.client("sqs", config=aws_config()), boto3.client("lambda", config=aws_config())
        found = consumers(boto3.client("cloudformation", config=aws_config()), aws_lambda, sqs, stack)
        summary.queues = search_consumers(sqs, aws_lambda, found, webhook_id, tenant, max_receives)
    finish(summary)


def resolve_names(
    stack: str, bucket: str | None, database: str | None, table: str | None, workgroup: str | None
) -> dict[str, str]:
    """The given names, and the stack's outputs for the others."""
    given = {"bucket": bucket, "database": database, "table": table, "workgroup": workgroup}
    names: dict[str, str] = {}
    outputs: dict[str, str] = {}
    if None in given.values():  # the stack is read once, and only when a name is not given
        outputs = stack_outputs(boto3.client("cloudformation", config=aws_config()), stack)
    for key, value in given.items():
        value = value if value is not None else outputs.get(OUTPUTS[key])
        if value is None:
            variable = {"bucket": "ARCHIVE_BUCKET"}.get(key, key.upper())
            raise click.UsageError(f"stack {stack} has no {OUTPUTS[key]} output: set {variable}=<name>")
        names[key] = value
    return names
