"""What a consumer receives: an SNS delivery (direct, or through SQS raw or enveloped) turned back into
the webhook PPS sent, with offloaded bodies fetched from S3 transparently."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pps_webhooks.offload import POINTER_CLASS, SIZE_ATTRIBUTE
from pps_webhooks.webhook import SUB_TOPIC, TENANT_ID, TOPIC, TRIGGERED_AT, WEBHOOK_ID

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class MalformedDelivery(ValueError):
    """A message no retry can fix (no JSON body, missing attributes): it ends in the dead-letter queue."""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    topic: str
    tenant_id: str
    webhook_id: str
    body: Any
    """The webhook body, parsed from JSON."""
    raw_body: str
    sub_topic: str | None = None
    triggered_at: str | None = None


class PayloadStore:
    """Reads offloaded bodies; the S3 client is created on the first large message only."""

    def __init__(self, s3: Callable[[], S3Client]) -> None:
        self._s3 = s3

    def read(self, bucket: str, key: str) -> str:
        body: bytes = self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode("utf-8")


def read_delivery(record: Mapping[str, Any], payloads: PayloadStore) -> WebhookEvent:
    """One record of an SQS event (raw delivery or SNS envelope) or of an SNS event."""
    message, attributes = _message_and_attributes(record)
    if SIZE_ATTRIBUTE in attributes:
        message = payloads.read(*_pointer(message))
    try:
        body = json.loads(message)
    except ValueError as error:
        raise MalformedDelivery("the webhook body is not JSON") from error
    missing = [name for name in (TOPIC, TENANT_ID, WEBHOOK_ID) if not attributes.get(name)]
    if missing:
        raise MalformedDelivery(f"message attributes missing: {', '.join(missing)}")
    return WebhookEvent(
        topic=attributes[TOPIC],
        tenant_id=attributes[TENANT_ID],
        webhook_id=attributes[WEBHOOK_ID],
        body=body,
        raw_body=message,
        sub_topic=attributes.get(SUB_TOPIC),
        triggered_at=attributes.get(TRIGGERED_AT),
    )


def _message_and_attributes(record: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    if "Sns" in record:  # SNS -> Lambda
        return _from_envelope(record["Sns"])
    body = record.get("body", "")
    attributes = record.get("messageAttributes") or {}
    if attributes:  # SNS -> SQS with raw message delivery
        return body, {name: value.get("stringValue", "") for name, value in attributes.items()}
    try:
        envelope = json.loads(body)
    except ValueError:
        envelope = None
    if isinstance(envelope, dict) and envelope.get("Type") == "Notification":  # SNS -> SQS, enveloped
        return _from_envelope(envelope)
    raise MalformedDelivery("neither an SNS delivery nor an SQS message with X-Pps-* attributes")


def _from_envelope(envelope: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    attributes = envelope.get("MessageAttributes") or {}
    return envelope.get("Message", ""), {name: value.get("Value", "") for name, value in attributes.items()}


def _pointer(message: str) -> tuple[str, str]:
    try:
        pointer_class, location = json.loads(message)
        if pointer_class != POINTER_CLASS:
            raise ValueError(pointer_class)
        return location["s3BucketName"], location["s3Key"]
    except (ValueError, TypeError, KeyError) as error:
        raise MalformedDelivery("ExtendedPayloadSize is set but the message is not a payload pointer") from error
