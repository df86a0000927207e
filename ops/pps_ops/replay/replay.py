"""A replay: the archived webhooks of one topic in a time window, delivered again to ONE consumer."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

import click

from pps_ops.offload import renew_body
from pps_ops.replay.archive import Notification, read_archive
from pps_ops.replay.checkpoint import Checkpoint
from pps_ops.replay.pacing import Pacer
from pps_ops.replay.plan import plan_lines
from pps_ops.replay.selection import Selection
from pps_ops.replay.subscriptions import check_subscriptions
from pps_ops.replay.summary import Summary
from pps_ops.replay.targets import Target
from pps_ops.replay.window import Window, topic_prefix

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient


def replay(
    *,
    s3: S3Client,
    bucket: str,
    topic: str,
    window: Window,
    target: Target,
    sns: SNSClient | None = None,
    dry_run: bool = False,
    progress: TextIO | None = None,
    selection: Selection | None = None,
    checkpoint: Checkpoint | None = None,
    pacer: Pacer | None = None,
    announce: Callable[[str], None] | None = None,
) -> Summary:
    """Send the archived notifications of `topic` in `window` that `selection` selects to `target`, in timestamp
    order, each no sooner than `pacer` allows; the plan (a table per day) goes to `announce` before any is sent.

    `checkpoint`, when given, holds what an earlier run of this replay sent (skipped now) and records each
    notification as it is sent. Ctrl-C while sending stops the replay and counts it interrupted.
    `sns`, when given, is read (never published to) to find the target's subscription: its ARN goes into
    Lambda events, and a filter policy or a missing subscription is noted. Progress goes to `progress` (stderr).
    """
    selection = selection or Selection()
    source = f"s3://{bucket}/{topic_prefix(topic)}"
    summary = Summary(topic, window, source, target.description, dry_run, selection)
    summary.rate = pacer.rate if pacer is not None else None
    if checkpoint is not None:
        summary.checkpoint, summary.recorded = str(checkpoint.path), len(checkpoint.sent)
    found = read_archive(s3, bucket, topic, window, summary, progress, selection)
    sent_before = checkpoint.sent if checkpoint is not None else set()
    to_send = [notification for notification in found if notification.message_id not in sent_before]
    summary.already_sent = len(found) - len(to_send)
    topic_arns = sorted({notification.topic_arn for notification in found})
    subscriptions = check_subscriptions(sns, topic_arns, target, summary) if sns is not None else {}
    for line in plan_lines(topic, found, summary.already_sent, target.description, dry_run=dry_run):
        (announce or _ignore)(line)
    if dry_run or not to_send:
        if checkpoint is not None:
            checkpoint.close()  # its lock too: nothing to send
        return summary
    size = pacer.batch_size(target.batch_size) if pacer is not None else target.batch_size
    try:
        with click.progressbar(range(len(to_send)), label="sent", show_pos=True, file=progress or sys.stderr) as bar:
            for group in groups(to_send, size):
                ready = renew_bodies(s3, group, summary)
                bar.update(len(group) - len(ready))
                if not ready:
                    continue
                if pacer is not None:
                    pacer.wait(len(ready))
                for notification, failure in zip(ready, target.deliver(ready, subscriptions), strict=True):
                    if failure is None:
                        if checkpoint is not None:
                            checkpoint.record(notification.message_id)
                        summary.sent += 1
                    else:
                        summary.count_failure(failure)
                    bar.update(1)
                if checkpoint is not None:
                    checkpoint.sync()
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if checkpoint is not None:
            checkpoint.close()
            summary.recorded = len(checkpoint.sent)
    return summary


def groups(notifications: Sequence[Notification], size: int) -> Iterator[Sequence[Notification]]:
    """What is sent together (one SQS batch, one invoke), in order."""
    for start in range(0, len(notifications), size):
        yield notifications[start : start + size]


def renew_bodies(s3: S3Client, notifications: Sequence[Notification], summary: Summary) -> list[Notification]:
    """The notifications to send: a offloaded body is copied onto itself first, which restarts its
    lifecycle, so the body outlives the new pointer (in a queue, then maybe a dead-letter queue) by a full
    period. One whose body is gone is counted as failed, not sent as a pointer to nothing."""
    ready = []
    for notification in notifications:
        failure = renew_body(s3, notification.envelope)
        if failure is None:
            ready.append(notification)
        else:
            summary.count_failure(failure)
    return ready


def _ignore(line: str) -> None:
    pass
