"""A redrive: what waits in a dead-letter queue, moved back to where it failed (or to the archive stream)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

import click

from pps_ops.redrive.archive_stream import ArchiveStream, rearchive
from pps_ops.redrive.by_hand import Sources, move_by_hand
from pps_ops.redrive.dead_letters import source_queues
from pps_ops.redrive.functions import AsyncFunction, reinvoke
from pps_ops.redrive.move_task import TASK_WAIT_SECONDS, follow_move_task, start_move_task
from pps_ops.redrive.summary import Summary
from pps_ops.sqs_reads import queue_attributes, release

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def redrive(
    sqs: SQSClient,
    queue_url: str,
    *,
    function: AsyncFunction | None = None,
    stream: ArchiveStream | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    task_wait_seconds: float = TASK_WAIT_SECONDS,
    progress: TextIO | None = None,
) -> Summary:
    """Move what waits in the dead-letter queue at `queue_url` back: at most `limit` messages, by default
    what it holds when this starts (so messages that fail again and come back are not moved twice).
    Progress goes to `progress` (stderr)."""
    attributes = queue_attributes(sqs, queue_url)
    dlq_arn = attributes["QueueArn"]
    waiting = int(attributes.get("ApproximateNumberOfMessages", 0))
    sources = source_queues(sqs, queue_url)
    _check(queue_url, sources, function, stream)
    bound = waiting if limit is None else limit
    label = "read" if dry_run else "moved"
    with click.progressbar(range(bound), label=label, show_pos=True, file=progress or sys.stderr) as bar:

        def show(moved: int, to_move: int) -> None:
            bar.length = to_move
            bar.update(moved - bar.pos)

        if stream is not None:
            summary = Summary(queue_url, f"into the archive stream {stream.name}", dry_run, waiting)
            held = rearchive(sqs, queue_url, stream, bound, summary, bar.update)
        elif function is not None:
            summary = Summary(queue_url, f"asynchronous invocations of {function.name}", dry_run, waiting)
            held = reinvoke(sqs, queue_url, dlq_arn, function, bound, summary, bar.update)
        else:
            summary = Summary(queue_url, f"an SQS message move task back to {_names(sources)}", dry_run, waiting)
            handle = None if limit is not None or dry_run else start_move_task(sqs, dlq_arn, sources, summary)
            if handle is not None:
                follow_move_task(sqs, dlq_arn, handle, summary, show, task_wait_seconds)
                return summary
            if limit is not None:
                summary.notes.append("MAX is set, and a message move task cannot be bounded: moved by hand")
            elif dry_run:
                summary.notes.append("a real run starts an SQS message move task where the API is available")
            summary.method = f"by hand, back to {_names(sources)}"
            held = move_by_hand(sqs, queue_url, Sources(sqs, dict(sources)), bound, summary, bar.update)
    release(sqs, queue_url, held)
    return summary


def _check(
    queue_url: str, sources: Mapping[str, str], function: AsyncFunction | None, stream: ArchiveStream | None
) -> None:
    if function is not None and stream is not None:
        raise click.UsageError("name FUNCTION or STREAM, not both")
    if sources and (function is not None or stream is not None):
        raise click.UsageError(
            f"{queue_url} is the dead-letter queue of {_names(sources)}, not of a function or the archive: "
            "leave FUNCTION and STREAM out"
        )
    if not sources and function is None and stream is None:
        raise click.UsageError(
            f"{queue_url} is no queue's dead-letter queue: name the function whose failed invocations it holds "
            "(FUNCTION=<name or ARN>), or, for the archive's dead-letter queue, the stream (STREAM=<name>)"
        )


def _names(sources: Mapping[str, str]) -> str:
    return ", ".join(sorted(arn.rsplit(":", 1)[-1] for arn in sources))
