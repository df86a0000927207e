"""SQS's own redrive: a message move task back to the source queues, followed until it is done (for a while)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pps_ops.aws import reason_of
from pps_ops.redrive.summary import Summary

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import ListMessageMoveTasksResultEntryTypeDef

TASK_WAIT_SECONDS = 120
TASK_POLL_SECONDS = 2
# How an endpoint without the message-move API answers (moto: a bare 500); real SQS answers those it has.
UNAVAILABLE_CODES = {"NotImplemented", "InvalidAction", "UnknownOperationException", "UnsupportedOperation"}


def unavailable(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    code = str(error.response.get("Error", {}).get("Code", ""))
    return status in (500, 501) or code in UNAVAILABLE_CODES or code.endswith(".UnsupportedOperation")


def start_move_task(sqs: SQSClient, dlq_arn: str, sources: Mapping[str, str], summary: Summary) -> str | None:
    """The task's handle; None where the API is unavailable (noted in summary).

    With one source queue, the task is told where to: a message that SNS parked here (it could not deliver
    it to that queue) has no source queue of its own, and only a destination sends it there too.
    """
    try:
        if len(sources) == 1:
            handle: str = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=next(iter(sources)))[
                "TaskHandle"
            ]
        else:
            handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    except ClientError as error:
        if not unavailable(error):
            raise
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = reason_of(error)
        answer = f"HTTP {status}" if code == str(status) else f"{code}, HTTP {status}"
        summary.notes.append(
            f"StartMessageMoveTask is not available at this endpoint ({answer}): moved by hand instead"
        )
        return None
    return handle


def follow_move_task(
    sqs: SQSClient,
    dlq_arn: str,
    handle: str,
    summary: Summary,
    show: Callable[[int, int], None],
    wait_seconds: float,
) -> None:
    """Poll the task until it ends or `wait_seconds` pass; it runs on in SQS either way.
    `show(moved, to_move)` as the task reports them."""
    task: ListMessageMoveTasksResultEntryTypeDef = {}
    for turn in range(int(wait_seconds // TASK_POLL_SECONDS) + 1):
        if turn:
            time.sleep(TASK_POLL_SECONDS)
        try:
            tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10).get("Results", [])
        except (ClientError, BotoCoreError) as error:
            summary.notes.append(f"could not follow move task {handle} ({reason_of(error)}): it runs on in SQS")
            break
        # Only a running task shows its handle; the latest comes first.
        running = [found for found in tasks if found.get("TaskHandle") == handle]
        task = running[0] if running else tasks[0] if tasks else task
        show(task.get("ApproximateNumberOfMessagesMoved", 0), task.get("ApproximateNumberOfMessagesToMove", 0))
        if task.get("Status") not in ("RUNNING", "CANCELLING"):
            break
    _tally_task(task, dlq_arn, summary, wait_seconds)


def _tally_task(task: ListMessageMoveTasksResultEntryTypeDef, dlq_arn: str, summary: Summary, waited: float) -> None:
    if not task:
        summary.notes.append(f"follow the move task with `aws sqs list-message-move-tasks --source-arn {dlq_arn}`")
        return
    status = task.get("Status", "UNKNOWN")
    summary.found = task.get("ApproximateNumberOfMessagesToMove", 0)
    summary.moved = task.get("ApproximateNumberOfMessagesMoved", 0)
    summary.destinations["its source queues"] = summary.moved
    if status == "FAILED":
        summary.failed = max(summary.found - summary.moved, 0)
        summary.reasons[task.get("FailureReason") or "task FAILED"] += summary.failed or 1
    elif status != "COMPLETED":
        summary.notes.append(
            f"the move task is {status} after {waited:.0f} s; follow it with "
            f"`aws sqs list-message-move-tasks --source-arn {dlq_arn}`"
        )
