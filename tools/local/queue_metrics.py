"""The one SQS metric the operator commands read that moto does not publish: AWS/SQS ApproximateAgeOfOldestMessage.

In AWS, SQS itself puts each queue's ApproximateAgeOfOldestMessage (seconds, dimension QueueName) into CloudWatch
every minute; `make status` shows the latest of it, and each consumer's QueueAgeAlarm watches it. moto publishes no
SQS metric, so the local run imitates AWS here, as its pollers imitate Lambda: every PERIOD_SECONDS, for each queue
of the stack (consumer queues and dead-letter queues), the age of its oldest message, put to the emulator's
CloudWatch through the API under AWS's own namespace and name.

The age is read from moto's queue objects in this process (the emulator runs here, tools.devkit.emulator), from each
message's SentTimestamp, never by receiving: a receive would hide the message from its consumer and count toward
maxReceiveCount. Every message not deleted counts, in flight or not, as in AWS; an empty queue reports 0.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from moto.sqs.models import sqs_backends

from tools.devkit.stack import Deployment

PERIOD_SECONDS = 10
NAMESPACE = "AWS/SQS"
METRIC = "ApproximateAgeOfOldestMessage"


def queues(deployment: Deployment) -> dict[str, str]:
    """Queue name -> its ARN, for every queue of the stack."""
    found = {}
    for name in deployment.of_type("AWS::SQS::Queue"):
        if name in deployment.physical_ids:
            found[deployment.attribute(name, "QueueName")] = deployment.attribute(name, "Arn")
    return found


def oldest_age(arn: str, now_ms: int | None = None) -> float | None:
    """Seconds since the oldest message still in the queue was sent (0 for an empty queue); None when the queue
    is not in this process's emulator."""
    _, _, _, region, account, name = arn.split(":", 5)
    queue = sqs_backends[account][region].queues.get(name)
    if queue is None:
        return None
    # The emulator's internals: no API reads a message's age without receiving it.
    with queue._messages_lock:
        sent = [int(stamp) for message in queue._messages if (stamp := getattr(message, "sent_timestamp", None))]
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return max(0.0, (now_ms - min(sent)) / 1000) if sent else 0.0


def publish(cloudwatch: Any, ages: Mapping[str, float], at: datetime | None = None) -> None:
    """One datapoint per queue, as SQS puts them (Seconds, dimension QueueName)."""
    at = at or datetime.now(UTC)
    data = [
        {
            "MetricName": METRIC,
            "Dimensions": [{"Name": "QueueName", "Value": name}],
            "Timestamp": at,
            "Value": round(age),
            "Unit": "Seconds",
        }
        for name, age in ages.items()
    ]
    for first in range(0, len(data), 1000):  # PutMetricData takes at most 1000 datapoints
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[first : first + 1000])


def publisher(deployment: Deployment, say: logging.Logger, stop: threading.Event) -> threading.Thread:
    """A thread (not started) publishing every queue's age every PERIOD_SECONDS until `stop`."""
    watched = queues(deployment)
    cloudwatch = deployment.client("cloudwatch")

    def run() -> None:
        while not stop.is_set():
            ages = {name: age for name, arn in watched.items() if (age := oldest_age(arn)) is not None}
            try:
                publish(cloudwatch, ages)
            except (BotoCoreError, ClientError) as error:
                if not stop.is_set():
                    say.warning(f"cannot publish the queues' {METRIC} ({error}); trying again")
            stop.wait(PERIOD_SECONDS)

    return threading.Thread(target=run, name="queue-metrics", daemon=True)
