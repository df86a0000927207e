"""The one place where an outcome or an error becomes an HTTP status, a log line and a metric."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics

from pps_webhooks.errors import BadRequest, Forbidden, PublishFailed, RetryLater, WebhookError
from pps_webhooks.idempotency import Remembered
from pps_webhooks.receiver import Outcome
from pps_webhooks.responses import accepted, refused
from pps_webhooks.webhook import Webhook

WEBHOOK = Webhook(topic="orders/placed", tenant_id="OU1243", webhook_id="279e4e55", body="{}")
FORBIDDEN_REASONS = [
    "missing-token",
    "token-expired",
    "token-not-yet-valid",
    "wrong-audience",
    "wrong-issuer",
    "missing-claim",
    "bad-signature",
    "unsupported-algorithm",
    "missing-kid",
    "unknown-kid",
    "malformed-token",
    "token-too-large",
    "tenant-not-allowed",
]

_LOG_STREAM = io.StringIO()
_LOGGER = Logger(service="pps-webhooks-unit-responses", stream=_LOG_STREAM)


@pytest.fixture
def logger() -> Logger:
    """One Powertools logger for the module (loggers are shared by service name), its stream emptied per test."""
    _LOG_STREAM.seek(0)
    _LOG_STREAM.truncate()
    return _LOGGER


def log_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in _LOG_STREAM.getvalue().splitlines() if line.strip()]


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    metrics = Metrics(namespace="Test")
    metrics.clear_metrics()
    yield metrics
    metrics.clear_metrics()


def emitted(metrics: Metrics) -> dict[str, object]:
    """The EMF document this invocation would flush: metric names to values, plus dimensions."""
    return dict(metrics.serialize_metric_set().items())


@pytest.mark.parametrize("reason", FORBIDDEN_REASONS)
def test_every_forbidden_is_the_same_bare_403(reason: str, logger: Logger, metrics: Metrics) -> None:
    response = refused(Forbidden(reason, "InvalidSignatureError"), logger, metrics).to_api_gateway()

    assert response["statusCode"] == 403
    assert response["body"] == '{"message":"Forbidden"}'
    assert response["headers"] == {"Content-Type": "application/json"}


@pytest.mark.parametrize("reason", ["token-expired", "tenant-not-allowed"])
def test_a_forbidden_is_logged_and_counted_with_its_reason(reason: str, logger: Logger, metrics: Metrics) -> None:
    refused(Forbidden(reason, "ExpiredSignatureError"), logger, metrics)

    (line,) = log_lines()
    assert line["level"] == "WARNING"
    assert line["reason"] == reason
    assert line["detail"] == "ExpiredSignatureError"
    document = emitted(metrics)
    assert document["Rejected"] == [1.0]
    assert document["Reason"] == reason


def test_a_bad_request_is_a_400_that_names_its_problems(logger: Logger, metrics: Metrics) -> None:
    problems = ["missing header X-Pps-Topic", "missing body"]

    response = refused(BadRequest("invalid-request", problems), logger, metrics)

    assert response.status == 400
    assert response.body == {"message": "Bad request", "problems": problems}
    assert emitted(metrics)["Rejected"] == [1.0]


def test_retry_later_is_a_503_with_retry_after(logger: Logger, metrics: Metrics) -> None:
    response = refused(RetryLater("jwks-unavailable"), logger, metrics).to_api_gateway()

    assert response["statusCode"] == 503
    assert response["headers"] == {"Content-Type": "application/json", "Retry-After": "5"}
    assert json.loads(response["body"]) == {"message": "Service unavailable, retry later"}
    assert emitted(metrics)["RetryLater"] == [1.0]


def test_a_failed_delivery_is_a_500_logged_as_an_error(logger: Logger, metrics: Metrics) -> None:
    response = refused(PublishFailed("publish-failed", "ClientError"), logger, metrics)

    assert response.status == 500
    assert response.body == {"message": "Delivery failed, retry later"}
    assert [line["level"] for line in log_lines()] == ["ERROR"]
    assert emitted(metrics)["DeliveryFailed"] == [1.0]


def test_an_unmapped_error_type_is_a_programming_error(logger: Logger, metrics: Metrics) -> None:
    with pytest.raises(TypeError, match="unmapped error WebhookError"):
        refused(WebhookError("something-new"), logger, metrics)


def test_an_accepted_webhook_is_a_200_with_its_id(logger: Logger, metrics: Metrics) -> None:
    record = {"message_id": "m-1", "topic_arn": "arn:aws:sns:us-east-1:123456789012:orders-placed"}

    response = accepted(Outcome(WEBHOOK, Remembered(record, duplicate=False)), logger, metrics)

    assert response.status == 200
    assert response.body == {"status": "accepted", "webhookId": "279e4e55"}
    assert emitted(metrics)["Accepted"] == [1.0]


def test_a_duplicate_is_a_200_that_says_so(logger: Logger, metrics: Metrics) -> None:
    response = accepted(Outcome(WEBHOOK, Remembered({"message_id": "m-1"}, duplicate=True)), logger, metrics)

    assert response.status == 200
    assert response.body == {"status": "duplicate", "webhookId": "279e4e55"}
    assert emitted(metrics)["Duplicate"] == [1.0]
