"""Reading the archive: the SNS notifications Firehose wrote, one per line, under the window's date partitions."""

from __future__ import annotations

import gzip
import json
import sys
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

import click

from pps_ops.replay.selection import Selection, webhook_id
from pps_ops.replay.summary import Summary
from pps_ops.replay.window import Window, partition_of, topic_prefix

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Notification:
    """One SNS notification, as SNS hands a non-raw subscriber (and as Firehose archived it)."""

    envelope: dict[str, Any]
    timestamp: datetime

    @property
    def message_id(self) -> str:
        return str(self.envelope["MessageId"])

    @property
    def topic_arn(self) -> str:
        return str(self.envelope.get("TopicArn", ""))

    @property
    def attributes(self) -> dict[str, dict[str, str]]:
        attributes: dict[str, dict[str, str]] = self.envelope.get("MessageAttributes") or {}
        return attributes

    @property
    def pps_topic(self) -> str | None:
        return self.attributes.get("X-Pps-Topic", {}).get("Value")


def read_notification(line: str) -> Notification | None:
    """None when the line is no SNS notification."""
    try:
        envelope = json.loads(line)
        timestamp = datetime.fromisoformat(envelope["Timestamp"])
    except (ValueError, TypeError, KeyError):
        return None
    if not _is_notification(envelope):
        return None
    return Notification(envelope, timestamp.replace(tzinfo=UTC) if timestamp.tzinfo is None else timestamp)


def _is_notification(envelope: dict[str, Any]) -> bool:
    attributes = envelope.get("MessageAttributes") or {}
    return (
        envelope.get("Type") == "Notification"
        and bool(envelope.get("MessageId"))
        and isinstance(envelope.get("Message"), str)
        and isinstance(attributes, dict)
        and all(isinstance(value, dict) for value in attributes.values())
    )


def object_lines(data: bytes) -> list[str]:
    """The lines of an archive object, gunzipped when it is gzip (whatever its name says)."""
    if data[:2] == GZIP_MAGIC:
        data = gzip.decompress(data)
    return [line for line in data.decode("utf-8").splitlines() if line.strip()]


def window_keys(s3: S3Client, bucket: str, topic: str, window: Window) -> list[str]:
    """The objects of the window's date partitions, in order: one listing that starts at the first
    partition and stops after the last (dates sort as text), however many days are empty."""
    dates = window.partition_dates()
    prefix = topic_prefix(topic)
    keys: list[str] = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, StartAfter=f"{prefix}date={dates[0].isoformat()}"
    )
    for page in pages:
        for entry in page.get("Contents", []):
            day = partition_of(entry["Key"])
            if day is not None and day > dates[-1]:
                return keys
            if day is not None and dates[0] <= day:
                keys.append(entry["Key"])
    return keys


def read_archive(
    s3: S3Client,
    bucket: str,
    topic: str,
    window: Window,
    summary: Summary,
    progress: TextIO | None = None,
    selection: Selection | None = None,
) -> list[Notification]:
    """The notifications of `topic` in the window that `selection` selects, each once, in timestamp order (then
    the archive's: keys sorted, lines in order); the rest counted in summary.

    `window` is compared with each notification's Timestamp (when SNS published it, to the millisecond): the
    partitions read are the window's days, what they hold outside the window is skipped."""
    found: dict[str, Notification] = {}
    seen: set[str] = set()
    in_window_ids: set[str] = set()
    keys = sorted(window_keys(s3, bucket, topic, window))
    with click.progressbar(keys, label="archive objects read", show_pos=True, file=progress or sys.stderr) as bar:
        for key in bar:
            summary.objects += 1
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            try:
                lines = object_lines(body)
            except (OSError, EOFError, zlib.error, UnicodeDecodeError):
                summary.unreadable += 1
                summary.notes.append(f"s3://{bucket}/{key} is neither gzip nor UTF-8 text: not read")
                continue
            for line in lines:
                notification = _in_window(read_notification(line), topic, window, summary)
                if notification is not None:
                    in_window_ids.add(webhook_id(notification) or "")
                    _select(notification, selection or Selection(), seen, found, summary)
    ordered = sorted(found.values(), key=lambda notification: notification.timestamp)
    summary.found = len(ordered)
    if ordered:
        summary.first, summary.last = ordered[0].envelope["Timestamp"], ordered[-1].envelope["Timestamp"]
    if selection is not None and selection.webhook_ids is not None:
        selected = {webhook_id(notification) for notification in ordered}
        summary.missing_ids = [wanted for wanted in sorted(selection.webhook_ids) if wanted not in in_window_ids]
        summary.left_out_ids = [
            wanted for wanted in sorted(selection.webhook_ids) if wanted in in_window_ids and wanted not in selected
        ]
    return ordered


def _in_window(notification: Notification | None, topic: str, window: Window, summary: Summary) -> Notification | None:
    if notification is None:
        summary.unreadable += 1
    elif notification.pps_topic != topic:  # partition names fold "/" into "_": orders_placed shares one
        summary.other_topic += 1
    elif notification.timestamp not in window:
        summary.outside_window += 1
    else:
        return notification
    return None


def _select(
    notification: Notification, selection: Selection, seen: set[str], found: dict[str, Notification], summary: Summary
) -> None:
    """Each MessageId once (a duplicate counts as one whatever the filters say), then the filters."""
    if notification.message_id in seen:
        summary.duplicates += 1
        return
    seen.add(notification.message_id)
    rejected_by = selection.rejects(notification)
    if rejected_by is not None:
        summary.filtered[rejected_by] += 1
    else:
        found[notification.message_id] = notification
