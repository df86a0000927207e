"""A replay: the archived webhooks of one topic in a time window, delivered again to ONE consumer."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

import click

from pps_ops.offload import renew_body
from pps_ops.replay.archive import Notification, read_archive
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
) -> Summary:
    """Send the archived notifications of `topic` in `window` to `target`, in timestamp order.

    `sns`, when given, is read (never published to) to find the target's subscription: its ARN goes into
    Lambda events, and a filter policy or a missing subscription is noted. Progress goes to `progress` (stderr).
    """
    summary = Summary(topic, window, f"s3://{bucket}/{topic_prefix(topic)}", target.description, dry_run)
    found = read_archive(s3, bucket, topic, window, summary, progress)
    topic_arns = sorted({notification.topic_arn for notification in found})
    subscriptions = check_subscriptions(sns, topic_arns, target, summary) if sns is not None else {}
    if dry_run or not found:
        return summary
    ready = renew_bodies(s3, found, summary)
    with click.progressbar(ready, label="sent", show_pos=True, file=progress or sys.stderr) as bar:
        for failure in target.deliver(ready, subscriptions):
            if failure is None:
                summary.sent += 1
            else:
                summary.count_failure(failure)
            bar.update(1)
    return summary


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
