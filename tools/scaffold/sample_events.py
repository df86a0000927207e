"""`make events`: (re)write the sample events in events/, exactly as AWS would pass them to each function.

API Gateway events carry tokens signed by the development key (valid until 2100, so the samples never
rot); events/env.json makes `sam local invoke` trust that key without any network. Everything here is
deterministic: running it again rewrites the same bytes (a test checks the committed files match).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pps_webhooks.settings import default_jwks_uri
from tools.devkit import dev_key
from tools.devkit import events as lambda_events
from tools.devkit.emulator import ACCOUNT, REGION
from tools.devkit.paths import EVENTS, ROOT

PLACED_BODY = '{"orderId":"ORD-1001","status":"placed","product":"adv-120","quantity":2,"currency":"USD"}'
UPDATED_BODY = '{"orderId":"ORD-1001","status":"shipped","trackingNumber":"1Z999AA10123456784"}'
PLACED_ID = "279e4e55-dfa0-4e04-b717-148ae547ab7d"
UPDATED_ID = "5f0c1e9a-3b7d-4c55-9a51-2d8e6b7f4a10"
PLACED_AT = "2024-01-1T10:00:00.7777748Z"  # as in the PPS guide: one-digit day, seven fractional digits
UPDATED_AT = "2024-01-02T08:30:00.1234567Z"


@dataclass(frozen=True)
class Sample:
    file: str
    function: str
    outcome: str
    """What happens when it is replayed in this order (documented in the README, checked by a test)."""
    event: dict[str, Any]


def pps_headers(
    topic: str, webhook_id: str, triggered_at: str, sub_topic: str = "product:adv/adv-120"
) -> dict[str, str]:
    return {
        "X-Pps-Topic": topic,
        "X-Pps-Sub-Topic": sub_topic,
        "X-Pps-Tenant-Id": "OU1243",
        "X-Pps-Webhook-Id": webhook_id,
        "X-Pps-Triggered-At": triggered_at,
    }


def sample_token() -> str:
    return dev_key.token(issued_at=dev_key.SAMPLE_ISSUED_AT, expires_at=dev_key.SAMPLE_EXPIRY)


def http_api_event(pps: dict[str, str], body: str, *, token: str, request_id: str) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) proxy event: header names lower-cased."""
    headers = {
        "accept-encoding": "gzip",
        "authorization": f"Bearer {token}",
        "content-length": str(len(body.encode())),
        "content-type": "application/json",
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "PPS-Webhooks/1.0",
        "x-amzn-trace-id": "Root=1-65a7d6f0-0f1e2d3c4b5a69788796a5b4",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        **{name.lower(): value for name, value in pps.items()},
    }
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks",
        "rawPath": "/webhooks",
        "rawQueryString": "",
        "headers": dict(sorted(headers.items())),
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": "POST",
                "path": "/webhooks",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "PPS-Webhooks/1.0",
            },
            "requestId": request_id,
            "routeKey": "POST /webhooks",
            "stage": "$default",
            "time": "01/Jan/2024:10:00:01 +0000",
            "timeEpoch": 1704103201000,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def rest_api_event(pps: dict[str, str], body: str, *, token: str, request_id: str) -> dict[str, Any]:
    """An API Gateway REST API (payload 1.0) proxy event: header names as sent, plus multiValueHeaders."""
    headers = {
        "Accept-Encoding": "gzip",
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "PPS-Webhooks/1.0",
        "X-Amzn-Trace-Id": "Root=1-65a7d6f0-0f1e2d3c4b5a69788796a5b4",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **pps,
    }
    return {
        "resource": "/webhooks",
        "path": "/webhooks",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "extendedRequestId": request_id,
            "httpMethod": "POST",
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "PPS-Webhooks/1.0"},
            "path": "/prod/webhooks",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": "01/Jan/2024:10:00:01 +0000",
            "requestTimeEpoch": 1704103201000,
            "resourceId": "abc123",
            "resourcePath": "/webhooks",
            "stage": "prod",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs_event(queue: str, pps: dict[str, str], body: str, message_id: str) -> dict[str, Any]:
    """What Lambda passes a function fed by an SQS queue that SNS delivers to with raw message delivery."""
    message = {
        "MessageId": message_id,
        "ReceiptHandle": f"AQEB{hashlib.sha256(message_id.encode()).hexdigest()}",
        "Body": body,
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1704103201500",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1704103201600",
        },
        "MessageAttributes": {name: {"DataType": "String", "StringValue": value} for name, value in pps.items()},
        "MD5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
    }
    return lambda_events.sqs_event([message], f"arn:aws:sqs:{REGION}:{ACCOUNT}:pps-webhooks-{queue}")


def sns_event(topic: str, pps: dict[str, str], body: str, message_id: str) -> dict[str, Any]:
    """What Lambda passes a function subscribed to an SNS topic directly."""
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:pps-webhooks-{topic}"
    envelope = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Message": body,
        "Timestamp": "2024-01-01T10:00:01.500Z",
        "SignatureVersion": "1",
        "Signature": base64.b64encode(b"sample-signature").decode(),
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-sample.pem",
        "MessageAttributes": {name: {"Type": "String", "Value": value} for name, value in pps.items()},
    }
    return lambda_events.sns_event(envelope, f"{topic_arn}:0b6941c3-f04d-4d3e-a66d-b1df00e1e381")


def samples() -> list[Sample]:
    """Every sample event, in the order the README's table (and the replay test) goes through them."""
    token = sample_token()
    placed = pps_headers("orders/placed", PLACED_ID, PLACED_AT)
    updated = pps_headers("orders/updated", UPDATED_ID, UPDATED_AT, sub_topic="product:adv/adv-120")
    rest_placed = pps_headers("orders/placed", "8d1f7c3e-2a64-4b9e-b0f5-6c3a9e2d1b47", PLACED_AT)
    rest_body = PLACED_BODY.replace("ORD-1001", "ORD-1002")
    unknown = pps_headers("invoices/paid", "c4a2e6f1-9b3d-4e7a-8f12-3d5b7a9c1e20", PLACED_AT, sub_topic="")
    unknown.pop("X-Pps-Sub-Topic")
    receiver = "WebhookReceiverFunction"
    return [
        Sample(
            "http-api-orders-placed.json",
            receiver,
            "200 accepted: published to OrdersPlacedTopic",
            http_api_event(placed, PLACED_BODY, token=token, request_id="Rx6sLjQ5IAMEVxA="),
        ),
        Sample(
            "http-api-duplicate.json",
            receiver,
            "200 duplicate: the same webhook id again, nothing published",
            http_api_event(placed, PLACED_BODY, token=token, request_id="Rx6sLjQ5IAMEVxB="),
        ),
        Sample(
            "http-api-orders-updated.json",
            receiver,
            "200 accepted: published to OrdersUpdatedTopic",
            http_api_event(updated, UPDATED_BODY, token=token, request_id="Rx6sLjQ5IAMEVxC="),
        ),
        Sample(
            "rest-api-orders-placed.json",
            receiver,
            "200 accepted: the REST API (payload 1.0) format, published to OrdersPlacedTopic",
            rest_api_event(rest_placed, rest_body, token=token, request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef"),
        ),
        Sample(
            "http-api-unknown-topic.json",
            receiver,
            "200 accepted: no topic is mapped to invoices/paid, so it is parked on UnroutedTopic",
            http_api_event(unknown, '{"invoiceId":"INV-77"}', token=token, request_id="Rx6sLjQ5IAMEVxD="),
        ),
        Sample(
            "http-api-bad-token.json",
            receiver,
            "403 Forbidden: the token's signature does not verify, nothing written",
            http_api_event(
                pps_headers("orders/placed", "0e7d9c2b-5a31-4f6e-9d84-7b2c1a0f3e95", PLACED_AT),
                PLACED_BODY,
                token=_forged(token),
                request_id="Rx6sLjQ5IAMEVxE=",
            ),
        ),
        Sample(
            "sqs-orders-placed.json",
            "OrdersPlacedFunction",
            "order ORD-1001 of tenant OU1243 created in OrdersTable (status placed)",
            sqs_event("OrdersPlacedQueue", placed, PLACED_BODY, "059f36b4-87a3-44ab-83d2-661975830a7d"),
        ),
        Sample(
            "sqs-orders-updated.json",
            "OrdersUpdatedFunction",
            "order ORD-1001 updated (status shipped): its X-Pps-Triggered-At is newer",
            sqs_event("OrdersUpdatedQueue", updated, UPDATED_BODY, "2e1424d4-f796-459a-8184-9c92662be6da"),
        ),
        Sample(
            "sns-orders-placed.json",
            "OrdersPlacedFunction",
            "the same delivery as SNS -> Lambda directly: nothing changes (ORD-1001 exists)",
            sns_event("OrdersPlacedTopic", placed, PLACED_BODY, "95df01b4-ee98-5cb9-9903-4c221d41eb5e"),
        ),
        Sample(
            "sns-orders-updated.json",
            "OrdersUpdatedFunction",
            "the same update again: not applied (not newer than what is stored)",
            sns_event("OrdersUpdatedTopic", updated, UPDATED_BODY, "a1b2c3d4-e5f6-5a7b-8c9d-0e1f2a3b4c5d"),
        ),
    ]


def env_json() -> dict[str, dict[str, str]]:
    """`sam local invoke --env-vars events/env.json`: the receiver trusts the development key, offline.

    Whom it trusts in full, so that nothing depends on the template's parameter values: PPS_JWKS_URI is the
    development issuer's (never fetched: PPS_JWKS holds its keys). Only variables the template declares on the
    function, since SAM CLI drops any other."""
    return {
        "WebhookReceiverFunction": {
            "PPS_ISSUER": dev_key.ISSUER,
            "PPS_AUDIENCE": dev_key.AUDIENCE,
            "PPS_JWKS_URI": default_jwks_uri(dev_key.ISSUER),
            "PPS_JWKS": json.dumps(dev_key.jwks(), separators=(",", ":")),
        }
    }


def _forged(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload}.{signature[:-8]}AAAAAAAA"


def render(document: Any) -> str:
    return json.dumps(document, indent=2) + "\n"


def write(directory: Path = EVENTS) -> list[Path]:
    written = []
    for sample in samples():
        (directory / sample.file).write_text(render(sample.event))
        written.append(directory / sample.file)
    (directory / "env.json").write_text(render(env_json()))
    return [*written, directory / "env.json"]


if __name__ == "__main__":
    for path in write():
        print(f"wrote {path.relative_to(ROOT)}")  # noqa: T201 - a command-line tool's output
