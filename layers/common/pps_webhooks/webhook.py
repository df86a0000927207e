"""A PPS webhook as the receiver sees it: its X-Pps-* headers and its body."""

from __future__ import annotations

from dataclasses import dataclass

from pps_webhooks.errors import BadRequest
from pps_webhooks.http_event import HttpRequest

TOPIC = "X-Pps-Topic"
SUB_TOPIC = "X-Pps-Sub-Topic"
TENANT_ID = "X-Pps-Tenant-Id"
WEBHOOK_ID = "X-Pps-Webhook-Id"
TRIGGERED_AT = "X-Pps-Triggered-At"

REQUIRED_HEADERS = (TOPIC, TENANT_ID, WEBHOOK_ID)
ATTRIBUTE_HEADERS = (TOPIC, SUB_TOPIC, TENANT_ID, WEBHOOK_ID, TRIGGERED_AT)
# Ids end up in DynamoDB, S3 keys and SNS attributes: a bound keeps an absurd header from
# turning into an endless 5xx retry loop downstream.
MAX_HEADER_BYTES = 512


@dataclass(frozen=True, slots=True)
class Webhook:
    topic: str
    tenant_id: str
    webhook_id: str
    body: str
    sub_topic: str | None = None
    triggered_at: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        """The X-Pps-* headers that were present, under their canonical names."""
        values = {
            TOPIC: self.topic,
            SUB_TOPIC: self.sub_topic,
            TENANT_ID: self.tenant_id,
            WEBHOOK_ID: self.webhook_id,
            TRIGGERED_AT: self.triggered_at,
        }
        return {name: value for name, value in values.items() if value}


def read_webhook(request: HttpRequest) -> Webhook:
    """Validate what the sender must always send; pass the optional headers through untouched."""
    problems = [f"missing header {name}" for name in REQUIRED_HEADERS if not (request.header(name) or "").strip()]
    problems += [
        f"header {name} is longer than {MAX_HEADER_BYTES} bytes"
        for name in ATTRIBUTE_HEADERS
        if len((request.header(name) or "").encode()) > MAX_HEADER_BYTES
    ]
    body = request.body()
    if not body.strip():
        problems.append("missing body")
    if problems:
        raise BadRequest("invalid-request", problems)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest("invalid-body", ["body is not UTF-8 text"]) from error
    return Webhook(
        topic=request.header(TOPIC) or "",
        tenant_id=request.header(TENANT_ID) or "",
        webhook_id=request.header(WEBHOOK_ID) or "",
        body=text,
        sub_topic=request.header(SUB_TOPIC) or None,
        triggered_at=request.header(TRIGGERED_AT) or None,
    )
