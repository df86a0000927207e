"""OrdersUpdatedQueue (fed by OrdersUpdatedTopic) -> apply each update that is newer than the stored order."""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from orders import OrdersTable
from pps_webhooks import aws
from pps_webhooks.consume import Consumer
from pps_webhooks.deliveries import PayloadStore, WebhookEvent
from pps_webhooks.observability import logger, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

orders = OrdersTable(os.environ["ORDERS_TABLE"], aws.dynamodb_client())


def apply_update(webhook: WebhookEvent) -> None:
    if not orders.update(webhook):
        logger.info("Update not applied: the order already reflects a newer or the same event")


consume = Consumer(apply_update, PayloadStore(cache(aws.s3_client)), logger)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)
