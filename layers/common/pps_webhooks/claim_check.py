"""Claim checks for messages too large for SNS, in the AWS payload-offloading format.

The AWS extended clients (SNS/SQS, Java and Python) write a large body to S3 and publish
`["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName": ..., "s3Key": ...}]`
with an `ExtendedPayloadSize` Number attribute; their readers resolve exactly this.
We write it here rather than use amazon-sns-extended-client, which patches boto3 sessions,
needs s3:PutObjectAcl for its `ACL: private` and names objects with random UUIDs: a
deterministic key per tenant and webhook id makes the sender's retry overwrite, not orphan.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import quote

POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"
SIZE_ATTRIBUTE = "ExtendedPayloadSize"

MessageAttributes = dict[str, dict[str, str]]


def string_attributes(values: Mapping[str, str]) -> MessageAttributes:
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


def message_size(body: bytes, attributes: MessageAttributes) -> int:
    """What SNS counts against its limit: the message plus every attribute's name, type and value."""
    return len(body) + sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )


def needs_claim_check(body: bytes, attributes: MessageAttributes, threshold: int) -> bool:
    return message_size(body, attributes) > threshold


def payload_key(tenant_id: str, webhook_id: str) -> str:
    """One object per tenant and webhook id; "." is escaped too, so no id reads as a path segment."""
    return f"payloads/{_segment(tenant_id)}/{_segment(webhook_id)}"


def _segment(value: str) -> str:
    return quote(value, safe="").replace(".", "%2E")


def pointer_message(bucket: str, key: str) -> str:
    return json.dumps([POINTER_CLASS, {"s3BucketName": bucket, "s3Key": key}])


def pointer_attributes(attributes: MessageAttributes, payload_size: int) -> MessageAttributes:
    return {**attributes, SIZE_ATTRIBUTE: {"DataType": "Number", "StringValue": str(payload_size)}}
