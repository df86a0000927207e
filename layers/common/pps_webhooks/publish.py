"""Publishing a webhook to the SNS topic for its X-Pps-Topic (the SNS and S3 adapter)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pps_webhooks import offload
from pps_webhooks.webhook import Webhook

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient


@dataclass(frozen=True, slots=True)
class Published:
    topic_arn: str
    message_id: str
    unrouted: bool
    payload_key: str | None = None
    """Where the body went when it was too large for SNS (offloaded), else None."""


@dataclass(frozen=True, slots=True)
class Routes:
    topic_arns: Mapping[str, str]
    unrouted_topic_arn: str

    def topic_arn(self, topic: str) -> tuple[str, bool]:
        """The topic ARN for an X-Pps-Topic, and whether it fell through to the unrouted topic."""
        arn = self.topic_arns.get(topic)
        return (arn, False) if arn else (self.unrouted_topic_arn, True)


class Publisher:
    def __init__(
        self,
        sns: SNSClient,
        s3: Callable[[], S3Client],
        routes: Routes,
        payload_bucket: str,
        offload_threshold: int,
    ) -> None:
        self._sns = sns
        self._s3 = s3  # created on first use: most sandboxes never see a large body
        self._routes = routes
        self._bucket = payload_bucket
        self._threshold = offload_threshold

    def publish(self, webhook: Webhook) -> Published:
        topic_arn, unrouted = self._routes.topic_arn(webhook.topic)
        message = webhook.body
        attributes = offload.string_attributes(webhook.headers)
        key = None
        if offload.needs_offload(webhook.body, attributes, self._threshold):
            body = webhook.body.encode()
            key = offload.payload_key(webhook.tenant_id, webhook.webhook_id)
            self._s3().put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/octet-stream")
            message = offload.pointer_message(self._bucket, key)
            attributes = offload.pointer_attributes(attributes, len(body))
        response = self._sns.publish(TopicArn=topic_arn, Message=message, MessageAttributes=attributes)  # type: ignore[arg-type]
        return Published(topic_arn=topic_arn, message_id=response["MessageId"], unrouted=unrouted, payload_key=key)
