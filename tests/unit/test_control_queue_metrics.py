"""The local run's stand-in for SQS's own ApproximateAgeOfOldestMessage: read from the emulator's queue in this
process, every message not deleted counted (in flight too), and nothing received to find it out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from moto.sqs.models import sqs_backends

from tools.devkit.emulator import ACCOUNT, REGION
from tools.local.queue_metrics import oldest_age


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue in this process's emulator (no server, no network): its name."""
    name = f"ages-{uuid.uuid4().hex[:8]}"
    backend = sqs_backends[ACCOUNT][REGION]
    backend.create_queue(name)
    yield name
    backend.delete_queue(name)


def arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def test_the_age_is_the_oldest_messages_time_in_the_queue_in_flight_or_not(queue: str) -> None:
    backend = sqs_backends[ACCOUNT][REGION]
    first = backend.send_message(queue, "first")
    backend.send_message(queue, "second")
    backend.receive_message(queue, 1, 0, 300)  # the first is being processed: it still counts
    sent = int(getattr(first, "sent_timestamp", 0))  # set by the send (moto types it None)

    assert oldest_age(arn(queue), now_ms=sent + 90_500) == 90.5
    # Nothing was received to find it out: the second was never received.
    assert [message.approximate_receive_count for message in backend.get_queue(queue)._messages] == [1, 0]


def test_an_empty_queue_is_0_and_a_queue_not_in_this_process_has_no_age(queue: str) -> None:
    assert oldest_age(arn(queue)) == 0.0
    assert oldest_age(arn("not-here-" + queue)) is None
