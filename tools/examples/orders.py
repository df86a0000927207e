"""The example consumers' own view of their work: `make orders` (the OrdersTable of the local run, as a table),
and the line the local run prints after one of them processed a webhook (a `pps_webhooks.local_views` entry point:
the local run itself knows no consumer).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
import click
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tools.devkit.emulator import CREDENTIALS, LOCAL_RUN_PORT, REGION, STACK_NAME
from tools.devkit.invoker import Function
from tools.devkit.stack import Deployment
from tools.local.views import View

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "OrdersTable"  # the logical id: CloudFormation names the table itself, so its name is read from the stack
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
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
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


def render(items: Sequence[Mapping[str, Any]], title: str) -> Table:
    """The key columns, then every other field of the body as name=value."""
    table = Table(*COLUMNS.values(), "Other fields", title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for item in items:
        others = ", ".join(
            f"{name}={_text(value)}"
            for name, value in sorted(item.items())
            if name not in COLUMNS and name not in BOOKKEEPING
        )
        # Values are the webhooks' own text: never read as rich markup.
        table.add_row(*(Text(_text(item.get(name, "-"))) for name in COLUMNS), Text(others))
    return table


def local_view(deployment: Deployment, functions: Sequence[Function]) -> View | None:
    """The line after each delivery to a consumer that writes OrdersTable, and `make orders` in the banner's hints."""
    table = deployment.refs.get(TABLE)
    if table is None:
        return None
    describe = describe_delivery(deployment.client("dynamodb"), table)
    port = deployment.endpoint.rsplit(":", 1)[-1]
    command = "make orders" if port == str(LOCAL_RUN_PORT) else f"make orders LOCAL_AWS_PORT={port}"
    return View(
        lines={function.name: describe for function in functions if table in function.environment.values()},
        hints=[(command, "what the example consumers wrote to OrdersTable")],
    )


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, separators=(",", ":"))
    return str(value)


@click.command(help=__doc__)
@click.option(
    "--aws-port",
    envvar="LOCAL_AWS_PORT",
    type=click.IntRange(1, 65535),
    default=LOCAL_RUN_PORT,
    show_default=True,
    show_envvar=True,
    help="Where the local run's moto listens on 127.0.0.1.",
)
def main(aws_port: int) -> None:
    endpoint = f"http://127.0.0.1:{aws_port}"
    console = Console(soft_wrap=True)
    try:
        table = table_name(endpoint)
        items = read_orders(dynamodb_client(endpoint), table)
    except EndpointConnectionError:
        click.echo(f"The local run is not running: nothing answers at {endpoint}.", err=True)
        click.echo("Start it in another terminal with `make run`.", err=True)
        sys.exit(1)
    except ClientError as error:
        click.echo(f"{endpoint} answers, but has no {TABLE}: is it `make run`? ({error})", err=True)
        sys.exit(1)
    if not items:
        click.echo(f"{TABLE} is empty. Send a webhook with `make send`, then try again.")
        return
    console.print(render(items, f"{TABLE} ({table}) at {endpoint}: {len(items)} order{'s' if len(items) != 1 else ''}"))
