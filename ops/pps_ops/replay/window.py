"""The time window of a replay, and the archive's date partitions it reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

PREFIX = "webhooks"


def parse_moment(text: str) -> datetime:
    """A date (its midnight) or an ISO date-time; UTC unless it names an offset. ValueError for anything else."""
    try:
        return datetime.combine(date.fromisoformat(text.strip()), time.min, UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a date or an ISO date-time (2024-01-01, 2024-01-01T10:00:00Z): {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Window:
    since: datetime
    """Inclusive."""
    until: datetime
    """Exclusive."""

    def __post_init__(self) -> None:
        if self.since >= self.until:
            raise ValueError(f"SINCE ({iso(self.since)}) must be before UNTIL ({iso(self.until)})")

    def __contains__(self, moment: datetime) -> bool:
        return self.since <= moment < self.until

    def partition_dates(self) -> list[date]:
        """The date partitions to read, in order: the window's UTC days, and one more. The stack partitions by the
        day SNS published each webhook; archives written before it did (by the day Firehose wrote them) hold a
        webhook published just before midnight in the next day's partition. One more listing finds those too."""
        first = self.since.date()
        last = (self.until - timedelta(microseconds=1)).date() + timedelta(days=1)
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def topic_prefix(topic: str) -> str:
    return f"{PREFIX}/topic={topic.replace('/', '_')}/"


def partition_of(key: str) -> date | None:
    """The arrival date of an archive object: webhooks/topic=.../date=2024-01-01/<name>."""
    segment = key.split("/")[2] if key.count("/") >= 3 else ""
    try:
        return date.fromisoformat(segment.removeprefix("date=")) if segment.startswith("date=") else None
    except ValueError:
        return None
