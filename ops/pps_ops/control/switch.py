"""`make pause` / `make resume`: a consumer's event source mapping switched off or on (UpdateEventSourceMapping
Enabled=false/true), and nothing else.

Paused, Lambda stops receiving from the consumer's queue: SNS keeps delivering to it, so its webhooks wait there
(up to the queue's MessageRetentionPeriod, 14 days here), while the receiver keeps answering PPS and every other
consumer keeps receiving. Resumed, Lambda works through the backlog at the mapping's MaximumConcurrency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pps_ops.consumers import PAUSED_STATES, Consumer, queue_name
from pps_ops.control.words import age, state_word

RUNNING_STATES = frozenset({"Enabled", "Enabling"})


@dataclass
class Summary:
    """One line per consumer switched (or found switched already); all of them done is exit 0."""

    outcomes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return True

    def lines(self) -> Sequence[str]:
        return self.outcomes


def pause(aws_lambda: Any, sqs: Any, found: Sequence[Consumer]) -> Summary:
    summary = Summary()
    for consumer in found:
        where = f"its webhooks wait in {queue_name(consumer.queue_arn)}"
        if consumer.state in PAUSED_STATES:
            summary.outcomes.append(
                f"{consumer.logical_id} is already {state_word(consumer.state)} (event source mapping "
                f"{consumer.mapping_id} {consumer.state}): nothing to do; {where}"
            )
            continue
        state = _switch(aws_lambda, consumer, enabled=False)
        kept = _retention(sqs, consumer.queue_url)
        summary.outcomes.append(
            f"{consumer.logical_id} {state_word(state)} (event source mapping {consumer.mapping_id} {state}): "
            f"{where}, kept {kept}; make resume CONSUMER={consumer.logical_id} before then"
        )
    return summary


def resume(aws_lambda: Any, found: Sequence[Consumer]) -> Summary:
    summary = Summary()
    for consumer in found:
        if consumer.state in RUNNING_STATES:
            summary.outcomes.append(
                f"{consumer.logical_id} is already {state_word(consumer.state)} (event source mapping "
                f"{consumer.mapping_id} {consumer.state}): nothing to do"
            )
            continue
        state = _switch(aws_lambda, consumer, enabled=True)
        summary.outcomes.append(
            f"{consumer.logical_id} {state_word(state)} (event source mapping {consumer.mapping_id} {state}): "
            f"it works through what waits in {queue_name(consumer.queue_arn)}"
        )
    return summary


def _switch(aws_lambda: Any, consumer: Consumer, *, enabled: bool) -> str:
    """The mapping's State as Lambda answers the update: Disabling/Enabling in AWS for a few seconds."""
    answer = aws_lambda.update_event_source_mapping(UUID=consumer.mapping_id, Enabled=enabled)
    return str(answer.get("State") or ("Enabled" if enabled else "Disabled"))


def _retention(sqs: Any, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["MessageRetentionPeriod"])
    seconds = int(attributes.get("Attributes", {}).get("MessageRetentionPeriod") or 0)
    if not seconds:
        return "as long as the queue's retention"
    days, rest = divmod(seconds, 86_400)
    return f"{days} days after each arrived" if days and not rest else f"{age(seconds)} after each arrived"
