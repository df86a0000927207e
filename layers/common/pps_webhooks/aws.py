"""boto3 clients with bounded timeouts and retries, so every failure ends well inside
API Gateway's 30 s (a call takes at most 2 attempts x (1 s connect + 3 s read) plus backoff).

Endpoints come from the standard SDK settings: AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_<SERVICE>)
pointing at a local emulator just works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

SDK_CONFIG = Config(
    connect_timeout=1,
    read_timeout=3,
    retries={"mode": "standard", "total_max_attempts": 2},
    tcp_keepalive=True,
)
# A large body may take longer to upload than a small call to answer.
S3_CONFIG = SDK_CONFIG.merge(Config(read_timeout=8))


def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=SDK_CONFIG)


def sns_client() -> SNSClient:
    return boto3.client("sns", config=SDK_CONFIG)


def s3_client() -> S3Client:
    return boto3.client("s3", config=S3_CONFIG)
