"""OrdersPlacedQueue (fed by OrdersPlacedTopic) -> create each order in OrdersTable."""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from orders import OrdersTable
from pps_webhooks import aws
from pps_webhooks.consume import Consumer
from pps_webhooks.deliveries import PayloadStore
from pps_webhooks.observability import logger, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

orders = OrdersTable(os.environ["ORDERS_TABLE"], aws.dynamodb_client())
consume = Consumer(orders.place, PayloadStore(cache(aws.s3_client)), logger)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)
