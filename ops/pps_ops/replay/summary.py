"""What a replay found, sent and skipped, and the lines it prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pps_ops.aws import tally
from pps_ops.replay.window import Window, iso

IDEMPOTENCY_NOTE = (
    "Consumers receive these webhooks again: a replay is safe because they are idempotent "
    "(X-Pps-Tenant-Id + X-Pps-Webhook-Id)."
)


@dataclass
class Summary:
    topic: str
    window: Window
    source: str
    target: str
    dry_run: bool
    found: int = 0
    """In the window, of the topic: what is (or would be) sent."""
    sent: int = 0
    failed: int = 0
    outside_window: int = 0
    other_topic: int = 0
    duplicates: int = 0
    """The same MessageId again: SNS and Firehose deliver at least once."""
    unreadable: int = 0
    objects: int = 0
    first: str | None = None
    last: str | None = None
    reasons: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.unreadable == 0

    def count_failure(self, reason: str) -> None:
        self.failed += 1
        self.reasons[reason] += 1

    def lines(self) -> list[str]:
        skipped = self.outside_window + self.other_topic + self.duplicates
        lines = [
            f"Replay of {self.topic} from {iso(self.window.since)} (inclusive) to {iso(self.window.until)} "
            f"(exclusive): {self.source}, {self.objects} object{'s' if self.objects != 1 else ''} read",
            f"  found in window  {self.found}" + (f"  (first {self.first}, last {self.last})" if self.found else ""),
            f"  would send       {self.found}  to {self.target}  (dry run: nothing sent)"
            if self.dry_run
            else f"  sent             {self.sent}  to {self.target}",
            f"  failed           {self.failed}" + (f"  ({tally(self.reasons)})" if self.reasons else ""),
            f"  skipped          {skipped}  ({self.outside_window} outside the window, {self.other_topic} of "
            f"another topic, {self.duplicates} duplicate{'s' if self.duplicates != 1 else ''} in the archive)",
        ]
        if self.unreadable:
            lines.append(f"  unreadable       {self.unreadable}  (lines or objects that are no SNS notification)")
        lines += [f"Note: {note}" for note in self.notes]
        lines.append(IDEMPOTENCY_NOTE)
        return lines
