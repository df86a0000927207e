"""What `make status` shows of each consumer: whether its mapping runs, how many webhooks wait in its queue (and
are being processed), how old the oldest is, and how many are parked in its dead-letter queue.

Nothing is received to find this out: a receive would count toward the queue's maxReceiveCount and hide the message
from the consumer. Depths are the queue's Approximate* attributes. The oldest message's age is the one SQS
publishes to CloudWatch (AWS/SQS ApproximateAgeOfOldestMessage, per QueueName, every minute): the latest Maximum of
the last LOOKBACK, so it lags a minute or more behind the queue, and is "-" when CloudWatch has no datapoint (a
queue idle for hours, or a metric not published yet). A queue that is empty now shows 0, whatever the metric said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pps_ops.consumers import Consumer, queue_name
from pps_ops.control.words import age, state_word, table

LOOKBACK = timedelta(minutes=10)
PERIOD_SECONDS = 60
AGE_METRIC = "ApproximateAgeOfOldestMessage"
DEPTHS = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
HEADER = ("CONSUMER", "STATE", "WAITING", "IN FLIGHT", "OLDEST", "DEAD LETTERS", "MAX CONCURRENCY", "QUEUE")
QUERIES_PER_CALL = 500
"""GetMetricData's limit on queries per request."""


@dataclass(frozen=True)
class Row:
    consumer: Consumer
    waiting: int
    """Visible messages: what the consumer has not received yet."""
    in_flight: int
    """Received and not deleted yet: being processed, or failed and waiting to be visible again."""
    oldest_seconds: float | None
    dead_letters: int | None
    """None: the queue has no dead-letter queue."""

    def cells(self) -> tuple[str, ...]:
        consumer = self.consumer
        return (
            consumer.logical_id,
            state_word(consumer.state),
            str(self.waiting),
            str(self.in_flight),
            age(self.oldest_seconds),
            "-" if self.dead_letters is None else str(self.dead_letters),
            "-" if consumer.maximum_concurrency is None else str(consumer.maximum_concurrency),
            queue_name(consumer.queue_arn),
        )


def rows(sqs: Any, cloudwatch: Any, found: Sequence[Consumer], now: datetime | None = None) -> list[Row]:
    ages = oldest_ages(cloudwatch, [queue_name(consumer.queue_arn) for consumer in found], now)
    result = []
    for consumer in found:
        depths = _depths(sqs, consumer.queue_url)
        parked = _depths(sqs, consumer.dead_letter_url) if consumer.dead_letter_url else None
        result.append(
            Row(
                consumer,
                waiting=depths[DEPTHS[0]],
                in_flight=depths[DEPTHS[1]],
                # Empty now: nothing is old, whatever the metric's last minute said (it lags the queue).
                oldest_seconds=0.0 if not sum(depths.values()) else ages.get(queue_name(consumer.queue_arn)),
                dead_letters=None if parked is None else parked[DEPTHS[0]] + parked[DEPTHS[1]],
            )
        )
    return result


def lines(found: Sequence[Row]) -> list[str]:
    return table(HEADER, [row.cells() for row in found])


def oldest_ages(cloudwatch: Any, queues: Sequence[str], now: datetime | None = None) -> dict[str, float]:
    """Queue name -> the latest ApproximateAgeOfOldestMessage (Maximum per minute, seconds) of the last LOOKBACK;
    a queue without a datapoint is left out. One GetMetricData call per 500 queues (all pages)."""
    # Whole minutes, as CloudWatch aligns its periods (and the current, unfinished minute included).
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    names = list(dict.fromkeys(queues))
    found: dict[str, float] = {}
    for first in range(0, len(names), QUERIES_PER_CALL):
        chunk = names[first : first + QUERIES_PER_CALL]
        queries = [
            {
                "Id": f"q{n}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SQS",
                        "MetricName": AGE_METRIC,
                        "Dimensions": [{"Name": "QueueName", "Value": name}],
                    },
                    "Period": PERIOD_SECONDS,
                    "Stat": "Maximum",
                },
                "ReturnData": True,
            }
            for n, name in enumerate(chunk)
        ]
        pages = cloudwatch.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=end - LOOKBACK, EndTime=end, ScanBy="TimestampDescending"
        )
        latest: dict[str, tuple[datetime, float]] = {}
        for page in pages:
            for result in page.get("MetricDataResults", []):
                name = chunk[int(str(result["Id"])[1:])]
                for timestamp, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    if name not in latest or timestamp > latest[name][0]:
                        latest[name] = (timestamp, float(value))
        found |= {name: value for name, (_, value) in latest.items()}
    return found


def _depths(sqs: Any, url: str) -> dict[str, int]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=DEPTHS).get("Attributes", {})
    return {name: int(attributes.get(name, 0)) for name in DEPTHS}
