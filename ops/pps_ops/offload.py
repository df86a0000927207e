"""Offloaded bodies: what ops sends again must not outlive the body its pointer names."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.aws import reason_of

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SIZE_ATTRIBUTE = "ExtendedPayloadSize"
"""The message attribute that marks a offloaded body (the message is then a pointer to it)."""


def offload_pointer(envelope: Mapping[str, Any]) -> tuple[str, str] | None:
    """(bucket, key) of a notification's offloaded body; None for a body carried in the message."""
    if SIZE_ATTRIBUTE not in (envelope.get("MessageAttributes") or {}):
        return None
    try:
        _, location = json.loads(envelope["Message"])
        return str(location["s3BucketName"]), str(location["s3Key"])
    except (ValueError, TypeError, KeyError):
        return None


def renew_body(s3: S3Client, envelope: Mapping[str, Any]) -> str | None:
    """Copy the offloaded body of an SNS notification onto itself (a new object for S3's lifecycle);
    None when that worked or there is no such body, else why not."""
    pointer = offload_pointer(envelope)
    if pointer is None:
        return None
    bucket, key = pointer
    try:
        s3.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": bucket, "Key": key},
            MetadataDirective="REPLACE",
            ContentType="application/octet-stream",
        )
    except (ClientError, BotoCoreError) as error:
        return f"offloaded body {reason_of(error)}"
    return None
