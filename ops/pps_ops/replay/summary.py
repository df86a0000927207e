"""What a replay found, sent and skipped, and the lines it prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pps_ops.aws import tally
from pps_ops.replay.selection import Selection
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
    selection: Selection = field(default_factory=Selection)
    found: int = 0
    """In the window, of the topic, selected by the filters: what is (or would be) sent, with what was already."""
    sent: int = 0
    failed: int = 0
    outside_window: int = 0
    other_topic: int = 0
    duplicates: int = 0
    """The same MessageId again: SNS and Firehose deliver at least once."""
    filtered: Counter[str] = field(default_factory=Counter)
    """Left out by each filter, by its variable: TENANT, SUB_TOPIC_PREFIX, WEBHOOK_IDS."""
    already_sent: int = 0
    """Selected, but sent by an earlier run of the same replay (its checkpoint)."""
    missing_ids: list[str] = field(default_factory=list)
    """WEBHOOK_IDS that no notification of the topic in the window carries."""
    left_out_ids: list[str] = field(default_factory=list)
    """WEBHOOK_IDS in the window, but none of whose notifications TENANT and SUB_TOPIC_PREFIX select."""
    interrupted: bool = False
    checkpoint: str | None = None
    recorded: int = 0
    """MessageIds in the checkpoint at the end."""
    rate: float | None = None
    unreadable: int = 0
    objects: int = 0
    first: str | None = None
    last: str | None = None
    reasons: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.failed == 0
            and self.unreadable == 0
            and not self.interrupted
            and not self.missing_ids
            and not self.left_out_ids
        )

    @property
    def to_send(self) -> int:
        return self.found - self.already_sent

    def count_failure(self, reason: str) -> None:
        self.failed += 1
        self.reasons[reason] += 1

    def lines(self) -> list[str]:
        filters = self.selection.description()
        lines = [
            f"Replay of {self.topic} from {iso(self.window.since)} (inclusive) to {iso(self.window.until)} "
            f"(exclusive): {self.source}, {self.objects} object{'s' if self.objects != 1 else ''} read",
            f"  found in window  {self.found}"
            + (f"  matching {filters}" if filters else "")
            + (f"  (first {self.first}, last {self.last})" if self.found else ""),
            f"  would send       {self.to_send}  to {self.target}  (dry run: nothing sent)"
            if self.dry_run
            else f"  sent             {self.sent}  to {self.target}"
            + (f"  (at most {self.rate:g} per second)" if self.rate is not None else ""),
            f"  failed           {self.failed}" + (f"  ({tally(self.reasons)})" if self.reasons else ""),
            f"  skipped          {self.skipped}  ({', '.join(self._skips())})",
        ]
        if self.interrupted:
            left = self.to_send - self.sent - self.failed
            lines.append(f"  not sent         {left}  (interrupted: run the same command again to send the rest)")
        if self.unreadable:
            lines.append(f"  unreadable       {self.unreadable}  (lines or objects that are no SNS notification)")
        if self.checkpoint is not None:
            lines.append(f"  checkpoint       {self.checkpoint}  ({self._recorded()})")
        if self.missing_ids:
            asked, missing = len(self.selection.webhook_ids or ()), len(self.missing_ids)
            lines.append(
                f"Note: {missing} of the {asked} WEBHOOK_IDS {'is' if missing == 1 else 'are'} not in the archive of "
                f"{self.topic} in the window: {', '.join(self.missing_ids)}"
            )
        if self.left_out_ids:
            left = len(self.left_out_ids)
            lines.append(
                f"Note: {left} of the WEBHOOK_IDS {'is' if left == 1 else 'are'} in the window but left out by "
                f"{Selection(self.selection.tenant, self.selection.sub_topic_prefix).description()}: "
                f"{', '.join(self.left_out_ids)}"
            )
        lines += [f"Note: {note}" for note in self.notes]
        lines.append(IDEMPOTENCY_NOTE)
        return lines

    @property
    def skipped(self) -> int:
        return (
            self.outside_window + self.other_topic + self.duplicates + sum(self.filtered.values()) + (self.already_sent)
        )

    def _skips(self) -> list[str]:
        skips = [
            f"{self.outside_window} outside the window",
            f"{self.other_topic} of another topic",
            f"{self.duplicates} duplicate{'s' if self.duplicates != 1 else ''} in the archive",
        ]
        if self.selection.tenant is not None:
            skips.append(f"{self.filtered['TENANT']} of another tenant")
        if self.selection.sub_topic_prefix is not None:
            skips.append(f"{self.filtered['SUB_TOPIC_PREFIX']} of another sub-topic")
        if self.selection.webhook_ids is not None:
            skips.append(f"{self.filtered['WEBHOOK_IDS']} not in WEBHOOK_IDS")
        if self.already_sent or self.checkpoint is not None:
            skips.append(f"{self.already_sent} already sent per the checkpoint")
        return skips

    def _recorded(self) -> str:
        if self.dry_run:
            return f"{self.recorded} sent recorded" if self.recorded else "nothing sent yet"
        return f"{self.recorded} sent recorded: the same command again skips them, with RESTART=1 sends them again"
