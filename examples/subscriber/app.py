"""An example subscriber in its own stack: plain boto3, no pps-webhooks layer needed.

With raw message delivery, the SQS body is the webhook body and the X-Pps-* headers are SQS message
attributes. Claim-checked bodies (ExtendedPayloadSize set) are fetched from S3.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3

s3 = boto3.client("s3")
logger = logging.getLogger()
logger.setLevel(logging.INFO)


def body_of(record: dict[str, Any]) -> str:
    attributes = record["messageAttributes"]
    if "ExtendedPayloadSize" not in attributes:
        return str(record["body"])
    _, pointer = json.loads(record["body"])
    return s3.get_object(Bucket=pointer["s3BucketName"], Key=pointer["s3Key"])["Body"].read().decode()


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            webhook_id = record["messageAttributes"]["X-Pps-Webhook-Id"]["stringValue"]
            order = json.loads(body_of(record))
            logger.info("order %s from webhook %s", order.get("orderId"), webhook_id)
        except (KeyError, ValueError):
            logger.exception("could not read message %s", record.get("messageId"))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
