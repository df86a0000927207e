"""The queue side of `make find`: which consumers' queues or dead-letter queues still hold the webhook.

A queue is searched by receiving from it, which is only harmless where nothing else receives: a dead-letter queue
(nobody polls it, it has no redrive policy of its own) and the queue of a paused consumer (its event source mapping
disabled). A running consumer's queue is never searched: every receive counts toward its maxReceiveCount, so a
search could push a message into the dead-letter queue, and what it holds is in flight or processed within seconds.
Each message received is kept invisible while its queue is searched (so no message is read twice), then all of
them are made visible again at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pps_ops.consumers import Consumer, queue_name
from pps_ops.find.query import TENANT_ID, WEBHOOK_ID

RUNNING = "not searched: consumer running (messages are in flight or processed within seconds)"
HOLD_SECONDS = 30
"""How long a received message stays invisible at most, should this command die before it puts it back."""
MAX_RECEIVES = 50
"""Receives per queue (10 messages each) before the search stops and says the queue was too deep."""


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
        depth = "" if self.complete else f"; too deep to search fully, stopped after {self.messages}"
        return f"  {where}: {verdict} ({counted}{depth})" + (f"; {self.note}" if self.note else "")


def matches(message: dict[str, Any], webhook_id: str, tenant: str | None) -> bool:
    attributes = message.get("MessageAttributes") or {}
    if (attributes.get(WEBHOOK_ID) or {}).get("StringValue") != webhook_id:
        return False
    return tenant is None or (attributes.get(TENANT_ID) or {}).get("StringValue") == tenant


def search_queue(
    sqs: Any, queue_url: str, webhook_id: str, tenant: str | None, max_receives: int = MAX_RECEIVES
) -> tuple[int, int, bool]:
    """(matching messages, messages looked at, whether the queue ran dry before the bound)."""
    held: dict[str, str] = {}
    found = 0
    complete = False
    try:
        for _ in range(max_receives):
            batch = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=[WEBHOOK_ID, TENANT_ID],
                VisibilityTimeout=HOLD_SECONDS,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            fresh = [message for message in batch if message["MessageId"] not in held]
            if not fresh:
                complete = True
                break
            for message in fresh:
                held[message["MessageId"]] = message["ReceiptHandle"]
                found += matches(message, webhook_id, tenant)
    finally:
        release(sqs, queue_url, list(held.values()))
    return found, len(held), complete


def release(sqs: Any, queue_url: str, receipts: Sequence[str]) -> None:
    """Make the received messages visible again now (ChangeMessageVisibility 0), ten per call."""
    for start in range(0, len(receipts), 10):
        entries = [
            {"Id": str(index), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
            for index, receipt in enumerate(receipts[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)


def search_consumers(
    sqs: Any, consumers: Sequence[Consumer], webhook_id: str, tenant: str | None, max_receives: int = MAX_RECEIVES
) -> list[QueueSearch]:
    """Each consumer's dead-letter queue, and its queue when it is paused."""
    found = []
    for consumer in consumers:
        if consumer.dead_letter_url and consumer.dead_letter_arn:
            count, seen, complete = search_queue(sqs, consumer.dead_letter_url, webhook_id, tenant, max_receives)
            name = queue_name(consumer.dead_letter_arn)
            found.append(QueueSearch(consumer.logical_id, "dead-letter queue", name, True, count, seen, complete))
        name = queue_name(consumer.queue_arn)
        if not consumer.paused:
            found.append(QueueSearch(consumer.logical_id, "queue", name, False, note=RUNNING))
            continue
        count, seen, complete = search_queue(sqs, consumer.queue_url, webhook_id, tenant, max_receives)
        note = f"consumer paused ({consumer.state}): this search counted one receive toward maxReceiveCount"
        found.append(QueueSearch(consumer.logical_id, "queue", name, True, count, seen, complete, note))
    return found
