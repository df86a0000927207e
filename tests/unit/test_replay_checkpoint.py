"""A replay's checkpoint file: what it records as the replay sends, and what a later run of the same replay reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pps_ops.replay.checkpoint import Checkpoint, CheckpointError, default_path, replay_identity
from pps_ops.replay.selection import Selection


def identity(**changes: object) -> dict[str, object]:
    settings: dict[str, object] = {
        "bucket": "archive",
        "topic": "orders/placed",
        "target": "https://sqs.us-east-1.amazonaws.com/1/OrdersPlacedQueue",
        "since": datetime(2024, 1, 1, tzinfo=UTC),
        "until": datetime(2024, 1, 3, tzinfo=UTC),
        "selection": Selection(),
    }
    return replay_identity(**{**settings, **changes})  # type: ignore[arg-type]


def test_what_one_run_records_the_next_run_of_the_same_replay_reads(tmp_path: Path) -> None:
    path = tmp_path / "orders.sent"
    first = Checkpoint.load(path, identity())
    first.record("m-1")
    first.record("m-2")
    first.close()

    again = Checkpoint.load(path, identity())
    again.record("m-3")
    again.close()

    assert Checkpoint.load(path, identity()).sent == {"m-1", "m-2", "m-3"}


def test_each_id_is_in_the_file_once_recorded_even_before_it_is_closed(tmp_path: Path) -> None:
    # As when the process dies right after a send: what was recorded is with the operating system already.
    path = tmp_path / "orders.sent"
    running = Checkpoint.load(path, identity())
    running.record("m-1")

    assert Checkpoint.load(path, identity()).sent == {"m-1"}
    running.close()


def test_a_write_cut_short_is_not_counted_and_does_not_spoil_the_next_id(tmp_path: Path) -> None:
    path = tmp_path / "orders.sent"
    checkpoint = Checkpoint.load(path, identity())
    checkpoint.record("m-1")
    checkpoint.close()
    with path.open("a", encoding="utf-8") as file:
        file.write("m-2-cut-sh")  # the process died in the middle of the line

    resumed = Checkpoint.load(path, identity())
    resumed.record("m-3")
    resumed.close()

    assert resumed.sent == {"m-1", "m-3"}
    assert Checkpoint.load(path, identity()).sent == {"m-1", "m-3"}


@pytest.mark.parametrize(
    "change",
    [
        {"target": "OrdersPlacedFunction"},
        {"until": None},
        {"since": datetime(2024, 1, 1, 10, 5, tzinfo=UTC)},
        {"selection": Selection(tenant="OU1243")},
        {"selection": Selection(sub_topic_prefix="product:adv/")},
        {"selection": Selection(webhook_ids=frozenset({"w-1"}))},
        {"bucket": "another-archive"},
    ],
)
def test_another_replay_has_another_default_checkpoint_and_cannot_use_this_one(
    tmp_path: Path, change: dict[str, object]
) -> None:
    path = tmp_path / "orders.sent"
    checkpoint = Checkpoint.load(path, identity())
    checkpoint.record("m-1")
    checkpoint.close()

    assert default_path(identity(**change)) != default_path(identity())
    with pytest.raises(CheckpointError, match=r"of another replay .*RESTART=1"):
        Checkpoint.load(path, identity(**change))


def test_the_default_checkpoint_is_under_replay_named_for_the_topic_and_the_same_for_the_same_replay() -> None:
    path = default_path(identity())

    assert path.parent == Path(".replay")
    assert path.name.startswith("orders_placed-")
    assert path.suffix == ".sent"
    assert default_path(identity(since=datetime(2024, 1, 1, 0, 0, 0, 0, tzinfo=UTC))) == path


def test_a_restart_reads_nothing_and_starts_the_file_over_at_its_first_send(tmp_path: Path) -> None:
    path = tmp_path / "orders.sent"
    checkpoint = Checkpoint.load(path, identity())
    checkpoint.record("m-1")
    checkpoint.close()

    restarted = Checkpoint.load(path, identity(), restart=True)
    assert restarted.sent == set()
    restarted.record("m-2")
    restarted.close()

    assert Checkpoint.load(path, identity()).sent == {"m-2"}


def test_a_file_that_is_no_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("w-1\nw-2\n", encoding="utf-8")

    with pytest.raises(CheckpointError, match="is no replay checkpoint"):
        Checkpoint.load(path, identity())


def test_a_second_run_of_the_same_replay_is_refused_while_the_first_is_sending(tmp_path: Path) -> None:
    """Both would read the checkpoint before either wrote to it, and both would send everything."""
    path = tmp_path / "orders.sent"
    first = Checkpoint.load(path, identity(), lock=True)

    with pytest.raises(CheckpointError, match="another run of this replay is sending now"):
        Checkpoint.load(path, identity(), lock=True)

    first.record("m-1")
    first.close()
    second = Checkpoint.load(path, identity(), lock=True)
    assert second.sent == {"m-1"}
    second.close()
