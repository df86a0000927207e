"""The plan of a replay, printed before anything is sent: what the filters select, per topic and per day."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pps_ops.replay.archive import Notification


def plan_lines(
    topic: str, selected: Sequence[Notification], already_sent: int, target: str, *, dry_run: bool
) -> list[str]:
    """A table of the selected webhooks by topic and UTC day SNS published them (its Timestamp), with the total,
    and how many of them go to the target."""
    days = Counter(notification.timestamp.date().isoformat() for notification in selected)
    rows = [(topic, day, str(count)) for day, count in sorted(days.items())]
    header, total = ("topic", "date", "count"), ("total", "", str(len(selected)))
    widths = [max(len(row[column]) for row in [header, *rows, total]) for column in range(3)]

    def line(row: tuple[str, str, str]) -> str:
        return f"  {row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}"

    to_send = len(selected) - already_sent
    verb = "would send" if dry_run else "sending"
    return [
        "Plan: the webhooks the filters select, per topic and UTC day published",
        line(header),
        *(line(row) for row in rows),
        line(total),
        f"{verb} {to_send} to {target}"
        + (f" ({already_sent} already sent per the checkpoint)" if already_sent else ""),
    ]
