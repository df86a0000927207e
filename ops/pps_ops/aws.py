"""What both tools need of AWS: bounded client settings, why calls failed (and how often), the Lambda call,
a stack's outputs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, Literal, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def aws_config(read_timeout: float = 10) -> Config:
    """Bounded calls: short connect, bounded read, three tries in all (the SDK's standard retry mode)."""
    return Config(connect_timeout=2, read_timeout=read_timeout, retries={"mode": "standard", "total_max_attempts": 3})


def reason_of(error: Exception) -> str:
    """An AWS error code (AccessDenied, NoSuchKey), the SDK's error type, or the message of anything else."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "ClientError")
    if isinstance(error, BotoCoreError):
        return type(error).__name__
    return str(error)


def tally(reasons: Counter[str]) -> str:
    """ "3 NoSuchKey, 1 AccessDenied": the most frequent first."""
    return ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())


class LambdaInvoker(Protocol):
    """The one call made on a Lambda client (boto3's, or a stand-in in tests)."""

    def invoke(
        self, *, FunctionName: str, InvocationType: Literal["Event", "RequestResponse", "DryRun"], Payload: bytes
    ) -> Mapping[str, Any]: ...


class StackReader(Protocol):
    def describe_stacks(self, *, StackName: str) -> Mapping[str, Any]: ...


def stack_outputs(cloudformation: StackReader, stack: str) -> dict[str, str]:
    """Every output of a CloudFormation stack, by key (one DescribeStacks call)."""
    stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {
        str(output["OutputKey"]): str(output["OutputValue"])
        for output in (stacks[0].get("Outputs", []) if stacks else [])
        if output.get("OutputKey")
    }


def stack_output(cloudformation: StackReader, stack: str, key: str) -> str | None:
    """The value of one output of a CloudFormation stack; None when it has no such output."""
    return stack_outputs(cloudformation, stack).get(key)
