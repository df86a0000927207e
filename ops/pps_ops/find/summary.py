"""What `make find` found, and the block it prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pps_ops.find.archive import Sighting
from pps_ops.find.query import LIMIT
from pps_ops.find.queues import QueueSearch
from pps_ops.replay.window import iso


@dataclass
class Summary:
    webhook_id: str
    tenant: str | None
    since: datetime
    bucket: str
    partitions: list[str] = field(default_factory=list)
    sightings: list[Sighting] = field(default_factory=list)
    queues: list[QueueSearch] = field(default_factory=list)
    query_id: str | None = None
    scanned_bytes: int | None = None
    notes: list[str] = field(default_factory=list)
    archive_failed: bool = False
    """The Athena query failed: the archive was not searched."""

    @property
    def ok(self) -> bool:
        """Found: archived, or waiting in a queue (Firehose archives a minute or so after the consumers get it)."""
        return bool(self.sightings) or any(search.holds for search in self.queues)

    def lines(self) -> list[str]:
        who = f"Webhook {self.webhook_id}" + (f" of tenant {self.tenant}" if self.tenant else "")
        looked = (
            f"archive s3://{self.bucket}/webhooks/ since {iso(self.since)}, "
            f"topics {', '.join(self.partitions) or 'none'}"
        )
        lines = [f"{who}: {len(self.sightings)} archived deliver{'ies' if len(self.sightings) != 1 else 'y'}"]
        lines.append(f"  looked in      {looked}")
        if self.query_id:
            scanned = f", {self.scanned_bytes:,} bytes scanned" if self.scanned_bytes is not None else ""
            lines.append(f"  Athena query   {self.query_id}{scanned}")
        for number, sighting in enumerate(self.sightings, 1):
            lines += [
                f"Delivery {number}",
                f"  arrived        {sighting.arrived}",
                f"  topic          {sighting.pps_topic or '-'}",
                f"  sub-topic      {sighting.sub_topic or '-'}",
                f"  tenant         {sighting.tenant or '-'}",
                f"  claim-checked  {'yes (body in the payload bucket)' if sighting.claim_checked else 'no'}",
                f"  SNS message    {sighting.message_id or '-'} on {(sighting.topic_arn or '-').rsplit(':', 1)[-1]}",
            ]
        if self.queues:
            lines.append("Where it waits")
            width = max(len(search.consumer) for search in self.queues)
            lines += [search.line(width) for search in self.queues]
        else:
            lines.append("Where it waits: the stack has no consumers")
        if len(self.sightings) >= LIMIT:
            lines.append(f"Note: only the first {LIMIT} deliveries are listed: narrow with TENANT= or SINCE=")
        if not self.ok:
            archive = (
                "the archive could not be searched"
                if self.archive_failed
                else (f"not in the archive since {iso(self.since)}")
            )
            lines.append(f"Not found: {archive}, nor in any queue searched.")
        lines += [f"Note: {note}" for note in self.notes]
        return lines
