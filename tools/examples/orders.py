"""`make orders`: the OrdersTable of the local run (`make run`), as a table.

Also the one-line summary of an order the local run prints after a consumer processed a webhook.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from tools.devkit.emulator import REGION, STACK_NAME

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "OrdersTable"  # the logical id: CloudFormation names the table itself, so its name is read from the stack
DEFAULT_AWS_PORT = 4566
COLUMNS = {"tenantId": "Tenant", "orderId": "Order", "status": "Status", "lastEventAt": "Last event at"}
BOOKKEEPING = {"placedAt", "lastEventAtNs", "lastWebhookId"}
_deserializer = TypeDeserializer()


def dynamodb_client(endpoint: str) -> DynamoDBClient:
    client: DynamoDBClient = _local_client("dynamodb", endpoint)
    return client


def table_name(endpoint: str) -> str:
    """OrdersTable's name in the local run's stack."""
    detail = _local_client("cloudformation", endpoint).describe_stack_resource(
        StackName=STACK_NAME, LogicalResourceId=TABLE
    )["StackResourceDetail"]
    return str(detail["PhysicalResourceId"])


def _local_client(service: str, endpoint: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - the emulator accepts any credentials  # nosec B106
        config=Config(connect_timeout=1, read_timeout=5, retries={"total_max_attempts": 1}),
    )


def read_orders(dynamodb: DynamoDBClient, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    pages = dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    for page in pages:
        items += [_plain(item) for item in page["Items"]]
    return sorted(items, key=lambda item: (str(item.get("tenantId")), str(item.get("placedAt", "")), item["orderId"]))


def summary(item: Mapping[str, Any]) -> str:
    """`OU1243/ORD-1001 status=placed, last event 2024-01-1T10:00:00.7777748Z`."""
    return (
        f"{item.get('tenantId')}/{item.get('orderId')} status={item.get('status', '-')}, "
        f"last event {item.get('lastEventAt') or '-'}"
    )


def describe_delivery(dynamodb: DynamoDBClient, table: str) -> Callable[[Mapping[str, str], str], str | None]:
    """For the local run: what OrdersTable holds for a webhook's order once a consumer processed it."""

    def describe(attributes: Mapping[str, str], body: str) -> str | None:
        try:
            order_id = json.loads(body).get("orderId")
        except (ValueError, AttributeError):
            return None
        tenant_id = attributes.get("X-Pps-Tenant-Id")
        if not isinstance(order_id, str) or not tenant_id:
            return None
        try:
            found = dynamodb.get_item(
                TableName=table, Key={"tenantId": {"S": tenant_id}, "orderId": {"S": order_id}}, ConsistentRead=True
            ).get("Item")
        except (BotoCoreError, ClientError):
            return None
        if found is None:
            return f"{table} {tenant_id}/{order_id}: no item"
        item = _plain(found)
        written = item.get("lastWebhookId") == attributes.get("X-Pps-Webhook-Id")
        return f"{table} {summary(item)}{'' if written else ' (last written by another webhook)'}"

    return describe


def render(items: Sequence[Mapping[str, Any]]) -> str:
    """A plain-text table: the key columns, then every other field of the body as name=value."""
    rows = [[*COLUMNS.values(), "Other fields"]]
    for item in items:
        others = ", ".join(
            f"{name}={_text(value)}"
            for name, value in sorted(item.items())
            if name not in COLUMNS and name not in BOOKKEEPING
        )
        rows.append([*(_text(item.get(name, "-")) for name in COLUMNS), others])
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, [*widths, 0], strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in [*widths, len(rows[0][-1])]))
    return "\n".join(lines)


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, separators=(",", ":"))
    return str(value)


def main() -> int:
    endpoint = f"http://127.0.0.1:{os.environ.get('LOCAL_AWS_PORT') or DEFAULT_AWS_PORT}"
    try:
        items = read_orders(dynamodb_client(endpoint), table_name(endpoint))
    except EndpointConnectionError:
        print(f"The local run is not running: nothing answers at {endpoint}.", file=sys.stderr)  # noqa: T201
        print("Start it in another terminal with `make run`.", file=sys.stderr)  # noqa: T201
        return 1
    except ClientError as error:
        print(f"{endpoint} answers, but has no {TABLE}: is it `make run`? ({error})", file=sys.stderr)  # noqa: T201
        return 1
    if not items:
        print(f"{TABLE} is empty. Send a webhook with `make send`, then try again.")  # noqa: T201
        return 0
    print(f"{TABLE} at {endpoint}: {len(items)} order{'s' if len(items) != 1 else ''}\n")  # noqa: T201
    print(render(items))  # noqa: T201 - a command-line tool's output
    return 0


if __name__ == "__main__":
    sys.exit(main())
