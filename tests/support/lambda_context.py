"""The context object Lambda hands a handler, with a real deadline: the local run's, in tests' units."""

from __future__ import annotations

from tools.devkit.invoker import LambdaContext

RECEIVER_NAME = "pps-webhooks-WebhookReceiverFunction"


def lambda_context(timeout_ms: int = 15_000, function_name: str = RECEIVER_NAME) -> LambdaContext:
    return LambdaContext(function_name, memory_limit_in_mb=512, timeout_seconds=timeout_ms / 1000)
