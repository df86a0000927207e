"""Example business logic: keep OrdersTable up to date from orders/placed and orders/updated webhooks.

This is the module to replace with your own. The schema is an example to adapt: one item per tenant and
`orderId` (from the body), holding the body's top-level fields plus the bookkeeping below. SNS delivers
at least once and in any order, so every write is conditional on X-Pps-Triggered-At:
- orders/placed fills in only what is not there yet (a repeat changes nothing; an update that arrived
  first is not overwritten);
- orders/updated applies only when it is newer than the last event applied (stale or repeated
  deliveries change nothing).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer

from pps_webhooks.deliveries import MalformedDelivery, WebhookEvent
from pps_webhooks.timestamps import epoch_nanoseconds

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BOOKKEEPING = ("tenantId", "orderId", "placedAt", "lastEventAt", "lastEventAtNs", "lastWebhookId")
_serializer = TypeSerializer()


class OrdersTable:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table_name = table_name
        self._client = client

    def place(self, webhook: WebhookEvent) -> None:
        """Create the order, or fill in what an earlier-arriving update did not set."""
        order_id, fields = _order(webhook)
        triggered_at = webhook.triggered_at or ""
        values = {
            **fields,
            "lastEventAt": triggered_at,
            "lastEventAtNs": epoch_nanoseconds(triggered_at) if triggered_at else 0,
            "lastWebhookId": webhook.webhook_id,
        }
        if triggered_at:
            values["placedAt"] = triggered_at
        expression, names, serialized = _assignments(values, keep_existing=True)
        self._client.update_item(
            TableName=self._table_name,
            Key=_key(webhook.tenant_id, order_id),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=serialized,
        )

    def update(self, webhook: WebhookEvent) -> bool:
        """Apply the update if it is newer than the last event applied; False when it was stale."""
        if not webhook.triggered_at:
            raise MalformedDelivery("orders/updated without X-Pps-Triggered-At cannot be ordered")
        try:
            at_ns = epoch_nanoseconds(webhook.triggered_at)
        except ValueError as error:
            raise MalformedDelivery("X-Pps-Triggered-At is not a date-time") from error
        order_id, fields = _order(webhook)
        values = {
            **fields,
            "lastEventAt": webhook.triggered_at,
            "lastEventAtNs": at_ns,
            "lastWebhookId": webhook.webhook_id,
        }
        expression, names, serialized = _assignments(values, keep_existing=False)
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=_key(webhook.tenant_id, order_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_not_exists(#newest) OR #newest < :newest",
                ExpressionAttributeNames={**names, "#newest": "lastEventAtNs"},
                ExpressionAttributeValues={**serialized, ":newest": {"N": str(at_ns)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def _order(webhook: WebhookEvent) -> tuple[str, dict[str, Any]]:
    body = webhook.body
    if not isinstance(body, dict) or not isinstance(body.get("orderId"), str) or not body["orderId"]:
        raise MalformedDelivery("the body has no orderId")
    return body["orderId"], {name: value for name, value in body.items() if name not in BOOKKEEPING}


def _key(tenant_id: str, order_id: str) -> dict[str, Any]:
    return {"tenantId": {"S": tenant_id}, "orderId": {"S": order_id}}


def _assignments(values: dict[str, Any], *, keep_existing: bool) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A SET expression over placeholders only: body field names are data, never part of an expression."""
    names: dict[str, str] = {}
    serialized: dict[str, Any] = {}
    clauses = []
    for index, (field, value) in enumerate(values.items()):
        name, placeholder = f"#a{index}", f":v{index}"
        names[name] = field
        serialized[placeholder] = _serializer.serialize(_dynamo(value))
        clauses.append(f"{name} = if_not_exists({name}, {placeholder})" if keep_existing else f"{name} = {placeholder}")
    return "SET " + ", ".join(clauses), names, serialized


def _dynamo(value: Any) -> Any:
    """JSON values as DynamoDB takes them: numbers as Decimal, recursively."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _dynamo(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dynamo(item) for item in value]
    return value
