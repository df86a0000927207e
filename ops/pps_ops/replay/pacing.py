"""RATE: spacing a replay's sends so that it cannot flood the consumer it feeds."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def parse_rate(text: str) -> float:
    """RATE: messages per second, a positive finite number (fractions allowed: 0.5 is one every two seconds)."""
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"must be a positive number of messages per second (10, 0.5), not {text!r}")
    return rate


@dataclass
class Pacer:
    """Message k of a replay is handed over no earlier than k/rate seconds after the first (fixed spacing on the
    monotonic clock), and the message after a send no earlier than 1/rate after that send started.

    The spacing runs from the moment a send starts, so the time a send takes (a function's synchronous invoke)
    counts toward it: a send slower than the spacing is followed at once by the next, never by a burst that
    catches up. Several messages sent together (one SQS batch) go when the last of them may: a batch holds at
    most a second's worth (`batch_size`), so none waits much longer than its own turn.
    """

    rate: float
    """Messages per second."""
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _ready_at: float | None = field(default=None, init=False)
    """When the next message may go; None before the first."""

    def batch_size(self, largest: int) -> int:
        """How many messages to send together: a second's worth at most, at least one, at most `largest`."""
        return max(1, min(largest, math.floor(self.rate)))

    def wait(self, count: int = 1) -> None:
        """Sleep until the next `count` messages may be handed over (all at once)."""
        now = self.clock()
        first = now if self._ready_at is None else max(now, self._ready_at)
        go = first + (count - 1) / self.rate
        if go > now:
            self.sleep(go - now)
        self._ready_at = go + 1 / self.rate
