"""The event SNS hands a subscribed Lambda function: how ops invokes a function the way SNS would have; and the
form of an SNS notification's Timestamp."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


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


def sns_timestamp(moment: datetime) -> str:
    """A moment as SNS writes Timestamp (2024-01-01T10:00:01.500Z, UTC, milliseconds): in that one form, text order
    is time order (make find bounds the archive's timestamp column as a string, the same in Athena and DuckDB)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
