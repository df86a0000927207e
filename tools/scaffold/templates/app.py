"""%{prefix}Function's handler, added by make consumer.

%{prefix}Queue feeds it these webhooks, in batches:

    X-Pps-Topic: %{topic}
    X-Pps-Sub-Topic: %{sub_topics}

Each goes to `logic.handle`; the ones it fails are reported alone (partial batch failure), retried, then parked in
%{prefix}DeadLetterQueue.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

# Lambda puts this directory on sys.path; mypy reads functions/ as one tree, where `logic` is not top-level.
from logic import handle  # type: ignore[import-not-found]

from pps_webhooks import aws
from pps_webhooks.consume import Consumer
from pps_webhooks.deliveries import PayloadStore
from pps_webhooks.observability import logger, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

consume = Consumer(handle, PayloadStore(cache(aws.s3_client)), logger)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)
