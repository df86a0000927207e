"""RATE: the arithmetic of spacing a replay's sends, on a clock the test moves (the sends take time on it too)."""

from __future__ import annotations

import pytest

from pps_ops.replay.pacing import Pacer


class FakeClock:
    """A monotonic clock that only moves when slept on, or when a send takes time."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept.append(seconds)
        self.now += seconds


def send_times(rate: float, batches: list[int], send_seconds: float = 0.0) -> list[float]:
    """When each batch was handed over (seconds after the first could go), sending `batches` (their sizes)."""
    clock = FakeClock()
    pacer = Pacer(rate, clock=clock, sleep=clock.sleep)
    start, times = clock.now, []
    for size in batches:
        pacer.wait(size)
        times.append(round(clock.now - start, 6))
        clock.now += send_seconds  # the send itself
    return times


def test_one_at_a_time_each_goes_one_spacing_after_the_one_before() -> None:
    assert send_times(10, [1] * 6) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]


def test_a_fractional_rate_spaces_by_more_than_a_second() -> None:
    assert send_times(0.5, [1, 1, 1]) == [0.0, 2.0, 4.0]


def test_a_batch_goes_when_its_last_message_may() -> None:
    # Six at 10 per second as one SQS batch: the sixth may go at 0.5 s.
    assert send_times(10, [6]) == [0.5]
    # Then two batches of ten: message k never before k/10 seconds.
    assert send_times(10, [10, 10, 3]) == [0.9, 1.9, 2.2]


def test_the_time_a_send_takes_counts_toward_the_spacing() -> None:
    # A synchronous invoke of 0.06 s at 10 per second: only 0.04 s more to wait.
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.wait()
        clock.now += 0.06

    assert clock.slept == pytest.approx([0.04, 0.04])


def test_a_send_slower_than_the_spacing_is_followed_at_once_but_never_by_a_burst_that_catches_up() -> None:
    # Invokes of 0.5 s at 10 per second: no waiting at all, and one send after the other, as fast as they finish.
    assert send_times(10, [1] * 4, send_seconds=0.5) == [0.0, 0.5, 1.0, 1.5]
    # One slow send in the middle, then the spacing again from that send, not a burst of the ones "owed".
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    pacer.wait()
    clock.now += 1.0
    times = []
    for _ in range(3):
        pacer.wait()
        times.append(round(clock.now - 100.0, 6))

    assert times == [1.0, 1.1, 1.2]


@pytest.mark.parametrize(
    ("rate", "largest", "size"), [(0.5, 10, 1), (1, 10, 1), (2.9, 10, 2), (10, 10, 10), (50, 10, 10), (50, 1, 1)]
)
def test_a_batch_holds_at_most_a_seconds_worth(rate: float, largest: int, size: int) -> None:
    assert Pacer(rate).batch_size(largest) == size
