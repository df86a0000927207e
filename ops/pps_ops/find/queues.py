"""The queue side of `make find`: which consumers' queues or dead-letter queues still hold the webhook.

A queue is searched by receiving from it, which is only harmless where nothing else receives: a dead-letter queue
(nobody polls it, it has no redrive policy of its own) and the queue of a paused consumer (its event source mapping
disabled). A running consumer's queue is never searched: every receive counts toward its maxReceiveCount, so a
search could push a message into the dead-letter queue, and what it holds is in flight or processed within seconds.
Each message received is kept invisible while its queue is searched (so no message is read twice), then all of
them are made visible again at once (pps_ops.sqs_reads, as `make redrive` reads a dead-letter queue).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pps_ops.consumers import Consumer, queue_name
from pps_ops.find.query import TENANT_ID, WEBHOOK_ID
from pps_ops.sqs_reads import queue_attributes, received, release

RUNNING = "not searched: consumer running (messages are in flight or processed within seconds)"
HOLD_SECONDS = 30
"""How long a received message stays invisible at most, should this command die before it puts it back."""
MAX_RECEIVES = 50
"""Receives per queue (10 messages each) before the search stops and says the queue was not searched fully."""


@dataclass(frozen=True)
class QueueSearch:
    consumer: str
    kind: str
    """"queue" or "dead-letter queue"."""
    queue: str
    searched: bool
    matches: int = 0
    messages: int = 0
    """How many messages were looked at."""
    complete: bool = True
    """False: the search stopped at its bound before the queue ran dry."""
    note: str | None = None

    @property
    def holds(self) -> bool:
        return self.matches > 0

    def line(self, width: int = 0) -> str:
        """One line; `width` aligns the consumer names of a list."""
        where = f"{self.consumer:<{width}}  {self.kind:<17}  {self.queue}"
        if not self.searched:
            return f"  {where}: {self.note}"
        verdict = "HOLDS IT" if self.holds else "not there"
        counted = (
            f"{self.matches} matching of {self.messages} looked at" if self.holds else f"{self.messages} looked at"
        )
        depth = "" if self.complete else f"; not searched fully, {self.messages} of its messages looked at"
        return f"  {where}: {verdict} ({counted}{depth})" + (f"; {self.note}" if self.note else "")


def matches(message: Mapping[str, Any], webhook_id: str, tenant: str | None) -> bool:
    attributes = message.get("MessageAttributes") or {}
    if (attributes.get(WEBHOOK_ID) or {}).get("StringValue") != webhook_id:
        return False
    return tenant is None or (attributes.get(TENANT_ID) or {}).get("StringValue") == tenant


@dataclass(frozen=True)
class Searched:
    matches: int
    messages: int
    """How many messages were looked at."""
    complete: bool
    """The queue ran dry before the bound, having shown at least as many messages as it held visible."""
    unreleased: int = 0
    """Messages that could not be made visible again: they reappear after HOLD_SECONDS."""


def search_queue(
    sqs: Any, queue_url: str, webhook_id: str, tenant: str | None, max_receives: int = MAX_RECEIVES
) -> Searched:
    """Receive until the queue shows nothing new, or `max_receives` times; then put everything back."""
    visible = int(queue_attributes(sqs, queue_url)["ApproximateNumberOfMessages"])
    limit = max_receives * 10
    held: list[str] = []
    found = 0
    try:
        for batch in received(sqs, queue_url, limit, visibility=HOLD_SECONDS):
            held += [message["ReceiptHandle"] for message in batch]
            found += sum(matches(message, webhook_id, tenant) for message in batch)
    finally:
        unreleased = release(sqs, queue_url, held)
    # Fewer than `limit`: the reading stopped at a receive that brought nothing new, the queue ran dry.
    return Searched(found, len(held), len(held) < limit and len(held) >= visible, unreleased)


def search_consumers(
    sqs: Any,
    aws_lambda: Any,
    consumers: Sequence[Consumer],
    webhook_id: str,
    tenant: str | None,
    max_receives: int = MAX_RECEIVES,
) -> list[QueueSearch]:
    """Each consumer's dead-letter queue, and its queue when it is paused."""
    found = []
    for consumer in consumers:
        if consumer.dead_letter_url and consumer.dead_letter_arn:
            searched = search_queue(sqs, consumer.dead_letter_url, webhook_id, tenant, max_receives)
            found.append(_search("dead-letter queue", consumer, consumer.dead_letter_arn, searched))
        name = queue_name(consumer.queue_arn)
        # Read again now, not when the command started: a consumer resumed meanwhile polls its queue. Disabling is
        # running here too: Lambda may still be receiving.
        state = str(aws_lambda.get_event_source_mapping(UUID=consumer.mapping_id).get("State", ""))
        if state != "Disabled":
            found.append(QueueSearch(consumer.logical_id, "queue", name, False, note=RUNNING))
            continue
        searched = search_queue(sqs, consumer.queue_url, webhook_id, tenant, max_receives)
        note = "consumer paused: this search counted one receive toward maxReceiveCount"
        found.append(_search("queue", consumer, consumer.queue_arn, searched, note))
    return found


def _search(kind: str, consumer: Consumer, arn: str, searched: Searched, note: str | None = None) -> QueueSearch:
    if searched.unreleased:
        lost = f"{searched.unreleased} could not be made visible again: they reappear within {HOLD_SECONDS} s"
        note = f"{note}; {lost}" if note else lost
    return QueueSearch(
        consumer.logical_id,
        kind,
        queue_name(arn),
        True,
        searched.matches,
        searched.messages,
        searched.complete,
        note,
    )
