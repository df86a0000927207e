"""What a redrive found, moved and left, and the lines it prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pps_ops.aws import tally
from pps_ops.sqs_reads import VISIBILITY_SECONDS

IDEMPOTENCY_NOTE = (
    "Consumers receive these messages again: a redrive is safe because they are idempotent "
    "(X-Pps-Tenant-Id + X-Pps-Webhook-Id)."
)


@dataclass
class Summary:
    queue_url: str
    method: str
    dry_run: bool
    waiting: int = 0
    """ApproximateNumberOfMessages when it started."""
    found: int = 0
    """Read from the queue (for a move task: what it had to move)."""
    moved: int = 0
    failed: int = 0
    """Not moved: still in the dead-letter queue."""
    left: int = 0
    """Not moved on purpose: there is nowhere to send them."""
    not_deleted: int = 0
    """Moved, but still in the dead-letter queue too: a later redrive delivers them once more."""
    destinations: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.left == 0 and self.not_deleted == 0

    def lines(self) -> list[str]:
        verb = "would move" if self.dry_run else "moved"
        to = ", ".join(f"{count} to {name}" for name, count in sorted(self.destinations.items()))
        lines = [
            f"Redrive of {self.queue_url}: {self.method}" + ("  (dry run: nothing moved)" if self.dry_run else ""),
            f"  found        {self.found}  (about {self.waiting} waiting when it started)",
            f"  {verb:<12} {self.moved}" + (f"  ({to})" if to else ""),
            f"  failed       {self.failed}"
            + (f"  still in the dead-letter queue, visible again within {VISIBILITY_SECONDS} s" if self.failed else ""),
            f"  left         {self.left}"
            + ("  (nowhere to send them: still in the dead-letter queue)" if self.left else ""),
        ]
        if self.not_deleted:
            lines.append(f"  not deleted  {self.not_deleted}  (moved, but still in the dead-letter queue as well)")
        if self.reasons:
            lines.append(f"  why          {tally(self.reasons)}")
        lines += [f"Note: {note}" for note in self.notes]
        lines.append(IDEMPOTENCY_NOTE)
        return lines

    def count_moved(self, destination: str, count: int = 1) -> None:
        self.moved += count
        self.destinations[destination] += count

    def count_failure(self, reason: str, *, left: bool = False) -> None:
        if left:
            self.left += 1
        else:
            self.failed += 1
        self.reasons[reason] += 1
