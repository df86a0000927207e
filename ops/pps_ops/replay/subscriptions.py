"""The target's own subscription to each topic: read (never changed) for its ARN and its filter policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.aws import reason_of
from pps_ops.replay.summary import Summary
from pps_ops.replay.targets import Target

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


@dataclass(frozen=True)
class Subscription:
    arn: str
    filter_policy: str | None


def find_subscription(sns: SNSClient, topic_arn: str, target: Target) -> Subscription | None:
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for subscription in page.get("Subscriptions", []):
            arn = subscription.get("SubscriptionArn", "")
            if arn.startswith("arn:") and target.subscribed_by(subscription.get("Endpoint", "")):
                attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
                return Subscription(arn, attributes.get("FilterPolicy") or None)
    return None


def check_subscriptions(sns: SNSClient, topic_arns: Sequence[str], target: Target, summary: Summary) -> dict[str, str]:
    """Topic ARN -> the target's subscription ARN; what an operator should know goes to summary.notes."""
    found: dict[str, str] = {}
    for topic_arn in topic_arns:
        try:
            subscription = find_subscription(sns, topic_arn, target)
        except (ClientError, BotoCoreError) as error:
            summary.notes.append(f"could not read the subscriptions of {topic_arn} ({reason_of(error)})")
            continue
        if subscription is None:
            summary.notes.append(f"{target.description} is not subscribed to {topic_arn}")
            continue
        found[topic_arn] = subscription.arn
        if subscription.filter_policy:
            summary.notes.append(
                f"{target.description} subscribes to {topic_arn} with a filter policy ({subscription.filter_policy}); "
                "a replay does not apply it: every selected webhook of the topic in the window is sent "
                "(SUB_TOPIC_PREFIX= and TENANT= select)"
            )
    return found
