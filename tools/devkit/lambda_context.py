"""The context object Lambda hands a handler, with a real deadline (standard library only: the bench's cold start
imports it)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from tools.devkit.emulator import ACCOUNT, REGION, STACK_NAME

RECEIVER_NAME = f"{STACK_NAME}-WebhookReceiverFunction"


@dataclass
class LambdaContext:
    function_name: str = RECEIVER_NAME
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 15
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = field(init=False, default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
