"""The events Lambda hands a function, in the shapes AWS sends: the one copy the samples, the tests and the local run
build them with.

- `api_event`: an API Gateway proxy event (HTTP API payload 2.0, or REST API payload 1.0) for PPS's request;
- `request_event`: the HTTP API event for a request the local run's front received;
- `queue_event` / `sqs_event`: an SQS batch (one raw-delivered webhook, or messages as received);
- `topic_event` / `sns_event`: an SNS notification of a function subscribed to a topic directly.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import parse_qsl

from pps_ops.lambda_events import sns_event
from tools.devkit.emulator import ACCOUNT, REGION, STACK_NAME

__all__ = [
    "FORMATS",
    "ORDER_BODY",
    "Format",
    "api_event",
    "pps_headers",
    "queue_event",
    "request_event",
    "sns_event",
    "sqs_event",
    "topic_event",
]

Format = Literal["http", "rest"]
FORMATS: tuple[Format, ...] = ("http", "rest")
ORDER_BODY = '{"orderId":"ORD-1001","status":"placed","product":"adv-120","quantity":2,"currency":"USD"}'
TRIGGERED_AT = "2024-01-1T10:00:00.7777748Z"  # as in PPS's own example: one-digit day, seven fractional digits
# Bodies of these types reach the function as text; any other type (or none) arrives base64-encoded.
TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/x-www-form-urlencoded")

_HOST = "abcdef1234.execute-api.us-east-1.amazonaws.com"
_SOURCE_IP = "203.0.113.10"
_USER_AGENT = "PPS-Webhooks/1.0"
_TRACE = "Root=1-65a7d6f0-0f1e2d3c4b5a69788796a5b4"
_REQUEST_TIME = "01/Jan/2024:10:00:01 +0000"
_REQUEST_EPOCH_MS = 1704103201000


def pps_headers(
    token: str | None = None,
    *,
    topic: str | None = "orders/placed",
    tenant_id: str | None = "OU1243",
    webhook_id: str | None = None,
    sub_topic: str | None = "product:adv/adv-120",
    triggered_at: str | None = TRIGGERED_AT,
    scheme: str = "Bearer",
) -> dict[str, str]:
    """The headers PPS sends (None leaves one out; Authorization only with a token); a fresh webhook id unless given."""
    headers = {
        "Authorization": f"{scheme} {token}" if token is not None else None,
        "X-Pps-Topic": topic,
        "X-Pps-Sub-Topic": sub_topic,
        "X-Pps-Tenant-Id": tenant_id,
        "X-Pps-Webhook-Id": webhook_id if webhook_id is not None else str(uuid.uuid4()),
        "X-Pps-Triggered-At": triggered_at,
    }
    return {name: value for name, value in headers.items() if value is not None}


def api_event(
    fmt: Format,
    headers: Mapping[str, str],
    body: str | bytes | None = ORDER_BODY,
    *,
    base64_body: bool = False,
    request_id: str | None = None,
) -> dict[str, Any]:
    """What API Gateway passes the receiver for PPS's POST with these headers (besides the transport's) and body."""
    # A body may hold what no client could encode (a lone surrogate): the receiver must refuse it, so keep it.
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    transport = {
        "Accept-Encoding": "gzip",
        "Content-Length": str(len(raw)) if raw is not None else None,
        "Content-Type": "application/json",
        "Host": _HOST,
        "User-Agent": _USER_AGENT,
        "X-Amzn-Trace-Id": _TRACE,
        "X-Forwarded-For": _SOURCE_IP,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    request_id = request_id or str(uuid.uuid4())
    event = _http_api(transport, headers, request_id) if fmt == "http" else _rest_api(transport, headers, request_id)
    if raw is None:
        event["body"] = None
    elif base64_body:
        event["body"] = base64.b64encode(raw).decode()
    else:
        event["body"] = body if isinstance(body, str) else raw.decode()
    event["isBase64Encoded"] = base64_body
    return event


def _http_api(transport: Mapping[str, str | None], headers: Mapping[str, str], request_id: str) -> dict[str, Any]:
    # HTTP APIs deliver header names lower-cased; Content-Length is the body's own (the sample's, not the caller's).
    sent = {name.lower(): value for name, value in transport.items() if value is not None and name != "Content-Length"}
    sent.update({name.lower(): value for name, value in headers.items()})
    if transport.get("Content-Length") is not None:
        sent["content-length"] = str(transport["Content-Length"])
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks",
        "rawPath": "/webhooks",
        "rawQueryString": "",
        "headers": dict(sorted(sent.items())),
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abcdef1234",
            "domainName": _HOST,
            "domainPrefix": "abcdef1234",
            "http": {
                "method": "POST",
                "path": "/webhooks",
                "protocol": "HTTP/1.1",
                "sourceIp": _SOURCE_IP,
                "userAgent": _USER_AGENT,
            },
            "requestId": request_id,
            "routeKey": "POST /webhooks",
            "stage": "$default",
            "time": _REQUEST_TIME,
            "timeEpoch": _REQUEST_EPOCH_MS,
        },
    }


def _rest_api(transport: Mapping[str, str | None], headers: Mapping[str, str], request_id: str) -> dict[str, Any]:
    # REST APIs deliver header names as sent, and every value again as a list in multiValueHeaders.
    sent = {name: value for name, value in transport.items() if value is not None and name != "Content-Length"}
    sent.update(headers)
    return {
        "resource": "/webhooks",
        "path": "/webhooks",
        "httpMethod": "POST",
        "headers": sent,
        "multiValueHeaders": {name: [value] for name, value in sent.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abcdef1234",
            "domainName": _HOST,
            "domainPrefix": "abcdef1234",
            "extendedRequestId": request_id,
            "httpMethod": "POST",
            "identity": {"sourceIp": _SOURCE_IP, "userAgent": _USER_AGENT},
            "path": "/prod/webhooks",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": _REQUEST_TIME,
            "requestTimeEpoch": _REQUEST_EPOCH_MS,
            "resourceId": "abc123",
            "resourcePath": "/webhooks",
            "stage": "prod",
        },
    }


def is_textual(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in TEXT_TYPES or media_type.endswith(("+json", "+xml"))


def request_event(
    *,
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    port: int,
    route_key: str,
) -> dict[str, Any]:
    """The event an HTTP API (payload 2.0) sends for this request: names lower-cased, repeated headers joined with
    commas, cookies apart, a fresh request id and time."""
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    joined["x-forwarded-for"] = ", ".join(filter(None, [joined.get("x-forwarded-for"), source_ip]))
    joined["x-forwarded-port"] = str(port)
    joined["x-forwarded-proto"] = "http"
    joined.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}")
    cookies = joined.pop("cookie", "")
    host = joined.get("host", f"127.0.0.1:{port}")
    now = time.time()

    event = _http_api({}, {}, base64.b64encode(os.urandom(10)).decode())
    event.update(routeKey=route_key, rawPath=path, rawQueryString=query, headers=joined, isBase64Encoded=False)
    if cookies:
        event["cookies"] = [cookie.strip() for cookie in cookies.split(";") if cookie.strip()]
    if query:
        parameters: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
        event["queryStringParameters"] = parameters
    event["requestContext"].update(
        apiId="local",
        domainName=host,
        domainPrefix=host.split(".", 1)[0],
        routeKey=route_key,
        time=time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        timeEpoch=int(now * 1000),
        http={
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
    )
    if not body:
        return event
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and is_textual(joined.get("content-type")):
        event["body"] = text
    else:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    return event


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What an SQS event source mapping passes the function for a batch of received messages."""
    region = queue_arn.split(":")[3]
    records = []
    for message in messages:
        attributes = message.get("MessageAttributes") or {}
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes") or {}),
            "messageAttributes": {name: _sqs_attribute(value) for name, value in attributes.items()},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        records.append(record)
    return {"Records": records}


def _sqs_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def queue_event(queue: str, headers: Mapping[str, str], body: str, message_id: str) -> dict[str, Any]:
    """What Lambda passes a function fed by the SQS queue `queue` that SNS delivers to with raw message delivery."""
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
        "MessageAttributes": {name: {"DataType": "String", "StringValue": value} for name, value in headers.items()},
        "MD5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
    }
    return sqs_event([message], f"arn:aws:sqs:{REGION}:{ACCOUNT}:{STACK_NAME}-{queue}")


def topic_event(topic: str, headers: Mapping[str, str], body: str, message_id: str) -> dict[str, Any]:
    """What Lambda passes a function subscribed to the SNS topic `topic` directly."""
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK_NAME}-{topic}"
    envelope = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Message": body,
        "Timestamp": "2024-01-01T10:00:01.500Z",
        "SignatureVersion": "1",
        "Signature": base64.b64encode(b"sample-signature").decode(),
        "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-sample.pem",
        "MessageAttributes": {name: {"Type": "String", "Value": value} for name, value in headers.items()},
    }
    return sns_event(envelope, f"{topic_arn}:0b6941c3-f04d-4d3e-a66d-b1df00e1e381")
