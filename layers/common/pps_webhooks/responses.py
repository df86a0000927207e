"""The one place where an outcome or an error becomes an HTTP status, a log line and a metric.

The sender retries only on >= 500, so: 403 and 400 only when a retry could never succeed;
503/500 whenever the event is not yet safely published.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from pps_webhooks.errors import BadRequest, Forbidden, PublishFailed, RetryLater, WebhookError
from pps_webhooks.http_event import HttpResponse

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

    from pps_webhooks.receiver import Outcome

FORBIDDEN = HttpResponse(403, {"message": "Forbidden"})
RETRY_LATER_BODY = {"message": "Service unavailable, retry later"}
DELIVERY_FAILED = HttpResponse(500, {"message": "Delivery failed, retry later"})


def accepted(outcome: Outcome, logger: Logger, metrics: Metrics) -> HttpResponse:
    record = outcome.remembered.record
    if outcome.duplicate:
        metrics.add_metric(name="Duplicate", unit=MetricUnit.Count, value=1)
        logger.info("Duplicate webhook: already published", extra={"message_id": record.get("message_id")})
        return HttpResponse(200, {"status": "duplicate", "webhookId": outcome.webhook.webhook_id})
    metrics.add_metric(name="Accepted", unit=MetricUnit.Count, value=1)
    if outcome.unrouted:
        metrics.add_metric(name="Unrouted", unit=MetricUnit.Count, value=1)
        logger.warning("No topic is mapped to this X-Pps-Topic: published to the unrouted topic")
    if outcome.offloaded:
        metrics.add_metric(name="ClaimChecked", unit=MetricUnit.Count, value=1)
    if outcome.remembered.completion_failed:
        metrics.add_metric(name="ClaimNotCompleted", unit=MetricUnit.Count, value=1)
        logger.warning("Published, but its record could not be marked completed: it expires with this invocation")
    logger.info(
        "Webhook published",
        extra={
            "message_id": record.get("message_id"),
            "topic_arn": record.get("topic_arn"),
            "payload_key": record.get("payload_key"),
        },
    )
    return HttpResponse(200, {"status": "accepted", "webhookId": outcome.webhook.webhook_id})


def refused(error: WebhookError, logger: Logger, metrics: Metrics) -> HttpResponse:
    details = {"reason": error.reason, "detail": error.detail}
    metrics.add_dimension(name="Reason", value=error.reason)
    match error:
        case Forbidden():
            metrics.add_metric(name="Rejected", unit=MetricUnit.Count, value=1)
            logger.warning("Webhook refused: not authorized", extra=details)
            return FORBIDDEN
        case BadRequest():
            metrics.add_metric(name="Rejected", unit=MetricUnit.Count, value=1)
            logger.warning("Webhook refused: invalid request", extra=details)
            return HttpResponse(400, {"message": "Bad request", "problems": error.problems})
        case RetryLater():
            metrics.add_metric(name="RetryLater", unit=MetricUnit.Count, value=1)
            logger.warning("Webhook not decided yet: the sender will retry", extra=details)
            return HttpResponse(503, RETRY_LATER_BODY, {"Retry-After": str(error.retry_after_seconds)})
        case PublishFailed():
            metrics.add_metric(name="DeliveryFailed", unit=MetricUnit.Count, value=1)
            logger.error("Webhook not delivered: the sender will retry", extra=details)
            return DELIVERY_FAILED
    raise TypeError(f"unmapped error {type(error).__name__}")
