"""`make pause` / `make resume` / `make status` under the real `make run`: the local pollers honour the event source
mapping's live State as Lambda does, so a paused consumer's webhooks wait in its queue while the receiver keeps
answering and the other consumer keeps applying its own, and resuming works the backlog off."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.e2e.local_run import LocalRun, eventually, local_run_in
from tools.devkit.paths import ROOT

PLACED, UPDATED = "OrdersPlacedFunction", "OrdersUpdatedFunction"


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRun]:
    with local_run_in(ROOT, tmp_path_factory.mktemp("local-run-pause") / "output.txt") as run:
        yield run


def order(order_id: str, status: str) -> str:
    return json.dumps({"orderId": order_id, "status": status, "quantity": 1})


def status(run: LocalRun) -> dict[str, list[str]]:
    """The real `make status`'s rows by consumer, split into cells: CONSUMER STATE WAITING IN-FLIGHT OLDEST ..."""
    shown = run.make("status")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    header, *rows = shown.stdout.splitlines()
    assert header.split()[:4] == ["CONSUMER", "STATE", "WAITING", "IN"]
    return {row.split()[0]: row.split() for row in rows}


def status_when(run: LocalRun, check: Callable[[dict[str, list[str]]], bool], what: str) -> dict[str, list[str]]:
    """`make status` once it shows what `check` looks for (the run's threads act within a few seconds)."""

    def attempt() -> dict[str, list[str]] | None:
        found = status(run)
        return found if check(found) else None

    return eventually(attempt, what, timeout=30)


def test_a_paused_consumers_webhooks_wait_in_its_queue_until_it_is_resumed(local_run: LocalRun) -> None:
    earlier, waiting = f"ORD-PAUSE-{uuid.uuid4().hex[:6]}", f"ORD-PAUSE-{uuid.uuid4().hex[:6]}"
    assert local_run.post(order(earlier, "placed"))[0] == 200
    eventually(lambda: local_run.order(earlier), f"{earlier} placed before the pause")

    paused = local_run.make("pause", CONSUMER=PLACED)

    assert paused.returncode == 0, paused.stdout + paused.stderr
    assert paused.stdout.startswith(f"{PLACED} paused")
    # Sent at once, while the run's poller may still be in the receive it began before the pause: a webhook that
    # arrives after `make pause` returned is not delivered, whenever the poller notices.
    assert local_run.post(order(waiting, "placed"))[0] == 200
    eventually(lambda: f"{PLACED}  paused" in local_run.output(), "the run's poller noticing the pause")
    # Nothing else is affected: the receiver answers, the other consumer applies its webhooks.
    assert local_run.post(order(earlier, "shipped"), topic="orders/updated")[0] == 200
    eventually(lambda: (local_run.order(earlier) or {}).get("status") == {"S": "shipped"}, "the update applied")
    rows = status_when(local_run, lambda found: found[PLACED][2] == "1", "the webhook waiting")
    assert rows[PLACED][1:4] == ["paused", "1", "0"]
    assert rows[UPDATED][1:4] == ["running", "0", "0"]
    assert local_run.order(waiting) is None
    # The run publishes the queues' age of the oldest message to CloudWatch, as SQS does in AWS.
    aged = status_when(local_run, lambda found: found[PLACED][4] not in ("-", "0s"), "its age")
    assert aged[PLACED][4].endswith("s")
    assert local_run.order(waiting) is None

    resumed = local_run.make("resume", CONSUMER=PLACED)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.startswith(f"{PLACED} running")
    assert eventually(lambda: local_run.order(waiting), f"{waiting} applied after the resume")["status"] == {
        "S": "placed"
    }
    assert f"{PLACED}  resumed" in local_run.output()
    rows = status_when(local_run, lambda found: found[PLACED][2:4] == ["0", "0"], "the queue drained")
    assert rows[PLACED][1] == "running"


def test_pausing_an_unknown_consumer_lists_the_stacks_consumers(local_run: LocalRun) -> None:
    result = local_run.make("pause", CONSUMER="OrdersShippedFunction")

    assert result.returncode == 2
    assert f"the stack's consumers: {PLACED}, {UPDATED}" in result.stderr
