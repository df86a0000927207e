"""How `make status` and `make pause` word what they read: a mapping's state, a message's age, the table."""

from __future__ import annotations

import pytest

from pps_ops.consumers import Consumer
from pps_ops.control.status import HEADER, Row, lines
from pps_ops.control.words import age, state_word, table


def consumer(name: str, state: str = "Enabled", *, dead_letters: bool = True, concurrency: int | None = 5) -> Consumer:
    queue = f"arn:aws:sqs:us-east-1:123456789012:pps-webhooks-{name}Queue-1A2B"
    return Consumer(
        logical_id=f"{name}Function",
        function_name=f"pps-webhooks-{name}Function-9Z8Y",
        mapping_id="742b5dbd-1667-4c39-8dd3-c70cc0c5658a",
        mapping_logical_id=f"{name}EventSource",
        queue_arn=queue,
        queue_url=f"https://sqs.us-east-1.amazonaws.com/123456789012/pps-webhooks-{name}Queue-1A2B",
        dead_letter_arn=f"{queue}-dlq" if dead_letters else None,
        dead_letter_url=f"https://sqs.example/{name}-dlq" if dead_letters else None,
        state=state,
        maximum_concurrency=concurrency,
    )


@pytest.mark.parametrize(
    ("state", "word"),
    [
        ("Enabled", "running"),
        ("Disabled", "paused"),
        ("Disabling", "pausing"),  # still finishing the batches it holds
        ("Enabling", "resuming"),
        ("Updating", "updating"),
        ("Creating", "creating"),
        ("Deleting", "deleting"),
        ("Hibernating", "hibernating"),  # a state Lambda may add one day: shown as Lambda says it
        ("", "unknown"),
    ],
)
def test_each_mapping_state_has_the_word_an_operator_reads(state: str, word: str) -> None:
    assert state_word(state) == word


def test_a_disabling_mapping_counts_as_paused_and_an_enabling_one_does_not() -> None:
    assert consumer("OrdersPlaced", "Disabling").paused
    assert not consumer("OrdersPlaced", "Enabling").paused


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"),
        (0, "0s"),
        (42.9, "42s"),
        (60, "1m00s"),
        (754, "12m34s"),
        (3 * 3600 + 20 * 60 + 59, "3h20m"),
        (2 * 86400 + 4 * 3600, "2d04h"),
        (14 * 86400, "14d00h"),
        (-3, "0s"),  # a clock a little ahead: never a negative age
    ],
)
def test_an_age_shows_its_two_largest_units(seconds: float | None, shown: str) -> None:
    assert age(seconds) == shown


def test_a_table_aligns_its_columns_right_for_figures_and_left_for_words() -> None:
    rows = [("a", "running", "7", "-"), ("longer", "paused", "1200", "3s")]

    shown = table(("NAME", "STATE", "DEPTH", "OLDEST"), rows)

    assert shown == [
        "NAME    STATE    DEPTH  OLDEST",
        "a       running      7       -",
        "longer  paused    1200      3s",
    ]


def test_a_table_without_rows_is_its_header() -> None:
    assert table(("A", "B"), []) == ["A  B"]


def test_a_status_row_shows_the_consumer_its_state_depths_age_and_dead_letters() -> None:
    placed = Row(consumer("OrdersPlaced", "Disabled"), waiting=12, in_flight=3, oldest_seconds=754, dead_letters=2)
    updated = Row(consumer("OrdersUpdated", dead_letters=False, concurrency=None), 0, 0, None, None)

    header, *rows = lines([placed, updated])

    assert header.split("  ")[0] == HEADER[0]
    assert [row.split() for row in rows] == [
        ["OrdersPlacedFunction", "paused", "12", "3", "12m34s", "2", "5", "pps-webhooks-OrdersPlacedQueue-1A2B"],
        ["OrdersUpdatedFunction", "running", "0", "0", "-", "-", "-", "pps-webhooks-OrdersUpdatedQueue-1A2B"],
    ]
    column = header.index("QUEUE")
    assert [row[column:].startswith("pps-webhooks-") for row in rows] == [True, True]
