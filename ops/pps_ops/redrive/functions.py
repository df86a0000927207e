"""A Lambda function's dead-letter queue: each failed asynchronous invocation's event, invoked again."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.aws import LambdaInvoker, reason_of
from pps_ops.lambda_events import sns_event
from pps_ops.redrive.dead_letters import settle, sns_notification
from pps_ops.redrive.summary import Summary
from pps_ops.sqs_reads import received

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef


@dataclass(frozen=True)
class AsyncFunction:
    """The function whose failed asynchronous invocations the queue holds."""

    client: LambdaInvoker
    name: str

    def invoke(self, event: str) -> str | None:
        """None when Lambda accepted the event (202), else why not."""
        try:
            response = self.client.invoke(FunctionName=self.name, InvocationType="Event", Payload=event.encode())
        except (ClientError, BotoCoreError) as error:
            return reason_of(error)
        return None if response.get("StatusCode") == 202 else f"StatusCode {response.get('StatusCode')}"


def reinvoke(
    sqs: SQSClient,
    queue_url: str,
    dlq_arn: str,
    function: AsyncFunction,
    limit: int,
    summary: Summary,
    advance: Callable[[int], None],
) -> list[str]:
    """Invoke the function again with up to `limit` events; the receipt handles of a dry run's messages."""
    held: list[str] = []
    for messages in received(sqs, queue_url, limit):
        summary.found += len(messages)
        accepted: list[str] = []
        for message in messages:
            if summary.dry_run:
                held.append(message["ReceiptHandle"])
            event = lambda_event(message, dlq_arn)
            if event is None:
                summary.count_failure("body is not a JSON event", left=True)
            elif summary.dry_run:
                summary.count_moved(function.name)
            elif (failure := function.invoke(event)) is None:
                accepted.append(message["ReceiptHandle"])
            else:
                summary.count_failure(failure)
            advance(1)
        settle(sqs, queue_url, accepted, function.name, summary)
    return held


def lambda_event(message: MessageTypeDef, dlq_arn: str) -> str | None:
    """The event to invoke the function with: a failed invocation's own event, or, for what SNS parked
    here, the SNS event the subscription would have delivered; None when it is neither."""
    notification = sns_notification(message)
    if notification is not None:
        if not notification.get("TopicArn"):  # a raw message does not say: an ARN of the right region and shape
            _, partition, _, region, account, _ = dlq_arn.split(":", 5)
            notification["TopicArn"] = f"arn:{partition}:sns:{region}:{account}:unknown"
        return json.dumps(sns_event(notification, f"{notification['TopicArn']}:redrive"))
    try:
        event = json.loads(message["Body"])
    except ValueError:
        return None
    return message["Body"] if isinstance(event, dict) else None
