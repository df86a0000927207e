"""The events Lambda hands a function, built from a real HTTP request or real SQS/SNS messages.

Shapes as AWS sends them: API Gateway HTTP API payload 2.0 (after events/http-api-orders-placed.json),
an SQS batch, and an SNS notification.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from tools.devkit.emulator import ACCOUNT
from tools.devkit.paths import EVENTS

HTTP_API_SAMPLE = EVENTS / "http-api-orders-placed.json"
# Bodies of these types reach the function as text; any other type (or none) arrives base64-encoded.
TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/x-www-form-urlencoded")


@cache
def _http_api_sample() -> dict[str, Any]:
    sample: dict[str, Any] = json.loads(HTTP_API_SAMPLE.read_text())
    return sample


def is_textual(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in TEXT_TYPES or media_type.endswith(("+json", "+xml"))


def http_api_event(
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
    """The event API Gateway (HTTP API, payload 2.0) sends for this request: names lower-cased,
    repeated headers joined with commas, cookies apart, a fresh request id and time."""
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

    event = copy.deepcopy(_http_api_sample())
    event.update(
        routeKey=route_key,
        rawPath=path,
        rawQueryString=query,
        headers=joined,
        isBase64Encoded=False,
    )
    if cookies:
        event["cookies"] = [cookie.strip() for cookie in cookies.split(";") if cookie.strip()]
    if query:
        parameters: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
        event["queryStringParameters"] = parameters
    context = event["requestContext"]
    context.update(
        accountId=ACCOUNT,
        apiId="local",
        domainName=host,
        domainPrefix=host.split(".", 1)[0],
        requestId=base64.b64encode(os.urandom(10)).decode(),
        routeKey=route_key,
        time=time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        timeEpoch=int(now * 1000),
    )
    context["http"] = {
        "method": method,
        "path": path,
        "protocol": "HTTP/1.1",
        "sourceIp": source_ip,
        "userAgent": joined.get("user-agent", ""),
    }
    if not body:
        event.pop("body", None)
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


def sns_event(envelope: Mapping[str, Any], subscription_arn: str) -> dict[str, Any]:
    """What SNS passes a subscribed function, from the notification as an SQS subscriber receives it."""
    region = subscription_arn.split(":")[3]
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": envelope["Type"],
                    "MessageId": envelope["MessageId"],
                    "TopicArn": envelope["TopicArn"],
                    "Subject": envelope.get("Subject"),
                    "Message": envelope["Message"],
                    "Timestamp": envelope["Timestamp"],
                    "SignatureVersion": envelope["SignatureVersion"],
                    "Signature": envelope["Signature"],
                    "SigningCertUrl": envelope["SigningCertURL"],
                    "UnsubscribeUrl": (
                        f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"
                    ),
                    "MessageAttributes": dict(envelope.get("MessageAttributes") or {}),
                },
            }
        ]
    }
