"""X-Pps-Triggered-At, read leniently: PPS's own example `2024-01-1T10:00:00.7777748Z` has a one-digit day
and seven fractional digits, which datetime.fromisoformat refuses."""

from __future__ import annotations

import calendar
import re

_TIMESTAMP = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})[Tt ](\d{1,2}):(\d{1,2}):(\d{1,2})"
    r"(?:[.,](\d{1,9}))?\s*(Z|z|[+-]\d{2}:?\d{2})?\s*$"
)


def epoch_nanoseconds(text: str) -> int:
    """Nanoseconds since the epoch, so two timestamps compare exactly (100 ns apart is still apart).

    No offset means UTC, as the PPS guide says. Raises ValueError for anything that is not a date-time.
    """
    match = _TIMESTAMP.match(text)
    if not match:
        raise ValueError("not a date-time")
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1] and hour < 24 and minute < 60):
        raise ValueError("not a valid date-time")
    if second > 60:
        raise ValueError("not a valid date-time")
    fraction = int((match.group(7) or "").ljust(9, "0"))
    seconds = calendar.timegm((year, month, day, hour, minute, min(second, 59), 0, 0, 0)) - _offset(match.group(8))
    return seconds * 1_000_000_000 + fraction


def _offset(zone: str | None) -> int:
    if zone is None or zone in ("Z", "z"):
        return 0
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    return sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
