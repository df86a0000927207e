"""Claim-checked bodies: what ops sends again must not outlive the body its pointer names."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.aws import reason_of

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SIZE_ATTRIBUTE = "ExtendedPayloadSize"
"""The message attribute that marks a claim-checked body (the message is then a pointer to it)."""


def claim_check_pointer(envelope: Mapping[str, Any]) -> tuple[str, str] | None:
    """(bucket, key) of a notification's claim-checked body; None for a body carried in the message."""
    if SIZE_ATTRIBUTE not in (envelope.get("MessageAttributes") or {}):
        return None
    try:
        _, location = json.loads(envelope["Message"])
        return str(location["s3BucketName"]), str(location["s3Key"])
    except (ValueError, TypeError, KeyError):
        return None


def renew_body(s3: S3Client, envelope: Mapping[str, Any]) -> str | None:
    """Copy the claim-checked body of an SNS notification onto itself (a new object for S3's lifecycle);
    None when that worked or there is no such body, else why not."""
    pointer = claim_check_pointer(envelope)
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
        return f"claim-checked body {reason_of(error)}"
    return None
