"""Claim checks for messages too large for SNS, in the AWS payload-offloading format.

The AWS extended clients (SNS/SQS, Java and Python) write a large body to S3 and publish
`["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName": ..., "s3Key": ...}]`
with an `ExtendedPayloadSize` Number attribute; their readers resolve exactly this.
We write it here rather than use amazon-sns-extended-client, which patches boto3 sessions,
needs s3:PutObjectAcl for its `ACL: private` and names objects with random UUIDs: a
deterministic key per tenant and webhook id makes the sender's retry overwrite, not orphan.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from urllib.parse import quote

POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"
SIZE_ATTRIBUTE = "ExtendedPayloadSize"

# Percent-encoding can triple a segment; past this, it is replaced by its hash, so that every key stays
# within S3's 1,024 bytes whatever id was accepted (an id that always failed would be an endless 500).
# The "!" before it is one that percent-encoding never leaves ("%21"), so no id can read as a hashed one.
MAX_SEGMENT_BYTES = 256
# What SNS (and SQS) take as text: the XML 1.0 characters. Anything else is refused by their APIs.
_NOT_CARRIABLE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

MessageAttributes = dict[str, dict[str, str]]


def carriable(text: str) -> bool:
    """Whether SNS accepts this text in a message or a String attribute."""
    return _NOT_CARRIABLE.search(text) is None


def string_attributes(values: Mapping[str, str]) -> MessageAttributes:
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


def message_size(body: bytes, attributes: MessageAttributes) -> int:
    """What SNS counts against its limit: the message plus every attribute's name, type and value."""
    return len(body) + sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )


def needs_offload(body: str, attributes: MessageAttributes, threshold: int) -> bool:
    """Too large for SNS, or text SNS would refuse: S3 takes any bytes, so the body still goes through."""
    return message_size(body.encode(), attributes) > threshold or not carriable(body)


def payload_key(tenant_id: str, webhook_id: str) -> str:
    """One object per tenant and webhook id; "." is escaped too, so no id reads as a path segment."""
    return f"payloads/{_segment(tenant_id)}/{_segment(webhook_id)}"


def _segment(value: str) -> str:
    encoded = quote(value, safe="").replace(".", "%2E")
    if len(encoded) <= MAX_SEGMENT_BYTES:
        return encoded
    return "!sha256-" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def pointer_message(bucket: str, key: str) -> str:
    return json.dumps([POINTER_CLASS, {"s3BucketName": bucket, "s3Key": key}])


def pointer_attributes(attributes: MessageAttributes, payload_size: int) -> MessageAttributes:
    return {**attributes, SIZE_ATTRIBUTE: {"DataType": "Number", "StringValue": str(payload_size)}}
