"""The business logic of %{prefix}Function: replace `handle` with yours.

It gets one webhook at a time, body already parsed (and fetched from S3 if it was offloaded).
SNS delivers at least once and in any order: make it idempotent (key on webhook.webhook_id, or compare
webhook.triggered_at with what you stored; pps_webhooks.timestamps.epoch_nanoseconds reads it).
Raise to have the delivery retried (ConsumerMaxReceiveCount tries in all), then parked in
%{prefix}DeadLetterQueue.
"""

from __future__ import annotations

from pps_webhooks.deliveries import WebhookEvent
from pps_webhooks.observability import logger


def handle(webhook: WebhookEvent) -> None:
    logger.info("Received", extra={"sub_topic": webhook.sub_topic, "triggered_at": webhook.triggered_at})
