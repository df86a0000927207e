"""A PPS webhook as the receiver sees it: its X-Pps-* headers and its body."""

from __future__ import annotations

from dataclasses import dataclass

from pps_webhooks.errors import BadRequest
from pps_webhooks.http_event import HttpRequest
from pps_webhooks.offload import carriable

TOPIC = "X-Pps-Topic"
SUB_TOPIC = "X-Pps-Sub-Topic"
TENANT_ID = "X-Pps-Tenant-Id"
WEBHOOK_ID = "X-Pps-Webhook-Id"
TRIGGERED_AT = "X-Pps-Triggered-At"

REQUIRED_HEADERS = (TOPIC, TENANT_ID, WEBHOOK_ID)
OPTIONAL_HEADERS = (SUB_TOPIC, TRIGGERED_AT)
ATTRIBUTE_HEADERS = (TOPIC, SUB_TOPIC, TENANT_ID, WEBHOOK_ID, TRIGGERED_AT)
# The ids name the webhook in DynamoDB, S3 keys, SNS attributes and archive paths: a bound keeps an
# absurd one from turning into an endless 5xx downstream. The optional headers are only carried, so
# they are bounded by API Gateway alone.
MAX_ID_BYTES = 512


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
    """Validate what the sender must always send; pass the optional headers through as they came.

    Only what can never succeed is refused: a missing, oversized or repeated id (a repeated header
    reaches us joined with ","), and text that SNS cannot carry in a message attribute.
    """
    problems = [problem for name in REQUIRED_HEADERS if (problem := _id_problem(request, name))]
    problems += [
        f"header {name} has characters SNS cannot carry"
        for name in OPTIONAL_HEADERS
        if not carriable(request.header(name) or "")
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


def ambiguous(request: HttpRequest, name: str) -> bool:
    """An id header given more than once: repeated in the event, or joined with "," as the HTTP API joins it."""
    return request.repeated(name) or "," in (request.header(name) or "")


def _id_problem(request: HttpRequest, name: str) -> str | None:
    value = request.header(name) or ""
    if not value.strip():
        return f"missing header {name}"
    if ambiguous(request, name):
        return f"header {name} has more than one value"
    if not carriable(value):
        return f"header {name} has characters SNS cannot carry"
    if len(value.encode()) > MAX_ID_BYTES:
        return f"header {name} is longer than {MAX_ID_BYTES} bytes"
    return None
