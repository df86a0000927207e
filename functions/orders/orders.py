"""Example business logic: keep OrdersTable up to date from orders/placed and orders/updated webhooks.

This is the module to replace with your own. The schema is an example to adapt: one item per tenant and
`orderId` (from the body), holding the body's top-level fields plus the bookkeeping below. SNS delivers
at least once and in any order, so every write is conditional on X-Pps-Triggered-At:
- orders/placed fills in only what is not there yet (a repeat changes nothing; an update that arrived
  first is not overwritten);
- orders/updated applies only when it is newer than the last event applied (stale or repeated
  deliveries change nothing).
A body with more fields than one DynamoDB update expression can hold (4 KB) is written in several updates,
each as safe to repeat as the whole: a redelivery after a partial write completes it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer

from pps_webhooks.deliveries import MalformedDelivery, WebhookEvent
from pps_webhooks.timestamps import epoch_nanoseconds

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BOOKKEEPING = ("tenantId", "orderId", "placedAt", "lastEventAt", "lastEventAtNs", "lastWebhookId", "partialWebhookId")
# DynamoDB refuses an expression over 4 KB or with more than 300 operators and functions: stay well inside.
MAX_EXPRESSION_BYTES = 3_500
MAX_CLAUSES = 80
_serializer = TypeSerializer()


class OrdersTable:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table_name = table_name
        self._client = client

    def place(self, webhook: WebhookEvent) -> None:
        """Create the order, or fill in what an earlier-arriving update did not set.

        X-Pps-Triggered-At is stored as it came; an unreadable one orders before any update.
        """
        order_id, fields = _order(webhook)
        triggered_at = webhook.triggered_at or ""
        values = {
            **fields,
            "lastEventAt": triggered_at,
            "lastEventAtNs": _lenient_nanoseconds(triggered_at),
            "lastWebhookId": webhook.webhook_id,
        }
        if triggered_at:
            values["placedAt"] = triggered_at
        for clauses, names, serialized in _chunks(values, keep_existing=True):
            self._client.update_item(
                TableName=self._table_name,
                Key=_key(webhook.tenant_id, order_id),
                UpdateExpression="SET " + ", ".join(clauses),
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
        values = {**fields, "lastEventAt": webhook.triggered_at, "lastWebhookId": webhook.webhook_id}
        chunks = list(_chunks(values, keep_existing=False))
        marker = {"#newest": "lastEventAtNs", "#partial": "partialWebhookId"}
        markers = {":newest": {"N": str(at_ns)}, ":webhook": {"S": webhook.webhook_id}}
        for index, (clauses, names, serialized) in enumerate(chunks):
            first, last = index == 0, index == len(chunks) - 1
            if first:
                # Newer than what is stored, or completing this same webhook's interrupted multi-part write.
                condition = "attribute_not_exists(#newest) OR #newest < :newest OR #partial = :webhook"
                clauses = [*clauses, "#newest = :newest"] + ([] if last else ["#partial = :webhook"])
            else:
                condition = "#newest = :newest AND #partial = :webhook"
            expression = "SET " + ", ".join(clauses) + (" REMOVE #partial" if last else "")
            try:
                self._client.update_item(
                    TableName=self._table_name,
                    Key=_key(webhook.tenant_id, order_id),
                    UpdateExpression=expression,
                    ConditionExpression=condition,
                    ExpressionAttributeNames={**names, **marker},
                    ExpressionAttributeValues={**serialized, **markers},
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                return not first  # stale or repeated; or, after the first part, a newer event took over
        return True


def _order(webhook: WebhookEvent) -> tuple[str, dict[str, Any]]:
    body = webhook.body
    if not isinstance(body, dict) or not isinstance(body.get("orderId"), str) or not body["orderId"]:
        raise MalformedDelivery("the body has no orderId")
    return body["orderId"], {name: value for name, value in body.items() if name not in BOOKKEEPING}


def _key(tenant_id: str, order_id: str) -> dict[str, Any]:
    return {"tenantId": {"S": tenant_id}, "orderId": {"S": order_id}}


Chunk = tuple[list[str], dict[str, str], dict[str, Any]]


def _chunks(values: dict[str, Any], *, keep_existing: bool) -> list[Chunk]:
    """SET clauses over placeholders only (body field names are data, never part of an expression), split
    so that each update stays inside DynamoDB's expression limits."""
    chunks: list[Chunk] = [([], {}, {})]
    size = 0
    for index, (field, value) in enumerate(values.items()):
        name, placeholder = f"#a{index}", f":v{index}"
        clause = f"{name} = if_not_exists({name}, {placeholder})" if keep_existing else f"{name} = {placeholder}"
        clauses, names, serialized = chunks[-1]
        if clauses and (size + len(clause) + 2 > MAX_EXPRESSION_BYTES or len(clauses) >= MAX_CLAUSES):
            chunks.append(([], {}, {}))
            clauses, names, serialized = chunks[-1]
            size = 0
        clauses.append(clause)
        names[name] = field
        serialized[placeholder] = _serializer.serialize(_dynamo(value))
        size += len(clause) + 2
    return chunks


def _lenient_nanoseconds(triggered_at: str) -> int:
    try:
        return epoch_nanoseconds(triggered_at) if triggered_at else 0
    except ValueError:
        return 0


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
