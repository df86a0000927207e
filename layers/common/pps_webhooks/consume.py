"""Run a consumer's business logic over a Lambda event, one webhook at a time.

SQS events (the recommended SNS -> SQS -> Lambda shape) go through Powertools' batch processor, so a bad
message is reported alone (partial batch failure) and retried, then parked in the queue's dead-letter
queue, while the good ones in the same batch complete. SNS events (a function subscribed to a topic
directly) raise on failure: Lambda retries them and then sends them to the function's on-failure
destination or dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from pps_webhooks.deliveries import PayloadStore, WebhookEvent, read_delivery

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

Handle = Callable[[WebhookEvent], None]


class Consumer:
    def __init__(self, handle: Handle, payloads: PayloadStore, logger: Logger) -> None:
        self._handle = handle
        self._payloads = payloads
        self._logger = logger
        self._processor = BatchProcessor(event_type=EventType.SQS)

    def __call__(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        records = event.get("Records") or []
        if records and "Sns" in records[0]:
            for record in records:
                self._process(record)
            return {}
        return dict(
            process_partial_response(
                event=dict(event), record_handler=self._process_sqs, processor=self._processor, context=context
            )
        )

    def _process_sqs(self, record: SQSRecord) -> None:
        self._process(record.raw_event)

    def _process(self, record: Mapping[str, Any]) -> None:
        try:
            webhook = read_delivery(record, self._payloads)
            self._logger.append_keys(webhook_id=webhook.webhook_id, topic=webhook.topic, tenant_id=webhook.tenant_id)
            self._handle(webhook)
        except Exception:  # logged here, then re-raised: the record is retried, then dead-lettered
            self._logger.exception("Delivery failed: it will be retried, then parked in the dead-letter queue")
            raise
        finally:
            self._logger.remove_keys(["webhook_id", "topic", "tenant_id"])
