"""`make send`: POST a webhook, signed with the development key, to the local run (`make run`).

Every setting is optional: a make variable (read from the environment) or an option (`pps-send --help`).
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import click

from tools.devkit import dev_key
from tools.devkit.events import pps_headers

DEFAULT_URL = "http://127.0.0.1:3000/webhooks"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Webhook:
    topic: str
    tenant_id: str
    webhook_id: str
    sub_topic: str
    triggered_at: str
    body: str

    def headers(self, token: str) -> dict[str, str]:
        """What PPS sends: an empty sub-topic is left out."""
        webhook = pps_headers(
            token,
            topic=self.topic,
            tenant_id=self.tenant_id,
            webhook_id=self.webhook_id,
            sub_topic=self.sub_topic or None,
            triggered_at=self.triggered_at,
        )
        return {"Content-Type": "application/json", **webhook}


def pps_timestamp(epoch_ns: int | None = None) -> str:
    """UTC with seven fractional digits, as PPS writes X-Pps-Triggered-At: 2024-01-01T10:00:00.7777748Z."""
    ns = time.time_ns() if epoch_ns is None else epoch_ns
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000 // 100:07d}Z"


def sample_body(topic: str = "orders/placed") -> str:
    status = "shipped" if topic == "orders/updated" else "placed"
    order = {"orderId": f"ORD-{secrets.token_hex(3).upper()}", "status": status, "product": "adv-120", "quantity": 2}
    return json.dumps({**order, "currency": "USD"}, separators=(",", ":"))


def post(url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
    """(status, body) of the answer, whatever the status."""
    # A proxy from the environment must not capture requests to this machine.
    opener = (
        urllib.request.build_opener(urllib.request.ProxyHandler({}))
        if urlsplit(url).hostname in LOOPBACK
        else urllib.request.build_opener()
    )
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310 - http(s) checked in main
    try:
        with opener.open(request, timeout=35) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


class _EnvOption(click.Option):
    """An option whose variable, when set but empty, means empty (click would take its default): `SUB_TOPIC=`."""

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        if isinstance(self.envvar, str) and self.envvar in os.environ:
            return os.environ[self.envvar]
        return super().resolve_envvar_value(ctx)


def _sample_if_empty(ctx: click.Context, _: click.Parameter, body: str | None) -> str:
    if body and body.startswith("@"):
        try:
            with open(body[1:], encoding="utf-8") as file:
                return file.read()
        except OSError as error:
            raise click.BadParameter(f"cannot read {body[1:]}: {error.strerror}") from error
    return body or sample_body(ctx.params.get("topic") or "orders/placed")


def _http_url(_: click.Context, __: click.Parameter, url: str) -> str:
    if urlsplit(url).scheme not in ("http", "https"):
        raise click.BadParameter(f"must be http(s)://..., not {url!r}")
    return url


option = functools.partial(click.option, show_envvar=True)


@click.command(help=__doc__, context_settings={"show_default": True})
@option("--topic", envvar="TOPIC", default="orders/placed", help="X-Pps-Topic.", is_eager=True)
@option(
    "--body",
    envvar="BODY",
    callback=_sample_if_empty,
    help="JSON text, or @path/to/file.  [default: a sample order with a fresh orderId]",
)
@option(
    "--repeat",
    envvar="REPEAT",
    default=1,
    type=click.IntRange(min=1),
    help='Send it N times, same webhook id (the 2nd and later answer "duplicate").',
)
@option("--webhook-id", envvar="WEBHOOK_ID", help="X-Pps-Webhook-Id.  [default: a fresh UUID]")
@option(
    "--sub-topic",
    envvar="SUB_TOPIC",
    cls=_EnvOption,
    default="product:adv/adv-120",
    help="X-Pps-Sub-Topic (empty: none).",
)
@option("--tenant", envvar="TENANT", default="OU1243", help="X-Pps-Tenant-Id.")
@option(
    "--triggered-at",
    envvar="TRIGGERED_AT",
    help="X-Pps-Triggered-At.  [default: now, as PPS writes it: 7 fractional digits, UTC]",
)
@option("--url", envvar="URL", default=DEFAULT_URL, callback=_http_url, help="Where to POST.")
@click.pass_context
def main(ctx: click.Context, /, **options: Any) -> None:
    webhook = Webhook(
        topic=options["topic"],
        tenant_id=options["tenant"],
        webhook_id=options["webhook_id"] or str(uuid.uuid4()),
        sub_topic=options["sub_topic"],
        triggered_at=options["triggered_at"] or pps_timestamp(),
        body=options["body"],
    )
    url, repeat = options["url"], options["repeat"]
    click.echo(f"POST {url}")
    click.echo(f"  {webhook.topic}  webhook {webhook.webhook_id}  tenant {webhook.tenant_id}  {_about(webhook.body)}")
    headers = webhook.headers(dev_key.token())
    statuses = []
    for attempt in range(1, repeat + 1):
        try:
            status, answer = post(url, headers, webhook.body.encode())
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            click.echo(f"Nothing answers at {url} ({reason}).", err=True)
            click.echo("Start the local run first, in another terminal: make run", err=True)
            ctx.exit(1)
        click.echo(f"{f'[{attempt}/{repeat}] ' if repeat > 1 else ''}{status} {answer}")
        statuses.append(status)
    if 403 in statuses:
        click.echo(
            "403: the local run trusts the development key, unless it was started with PPS_ISSUER, "
            "PPS_AUDIENCE or PPS_JWKS_URI set."
        )
    if not all(200 <= status < 300 for status in statuses):
        ctx.exit(1)
    click.echo("Follow the deliveries in the `make run` console.")


def _about(body: str) -> str:
    size = f"{len(body.encode())} bytes"
    try:
        parsed = json.loads(body)
    except ValueError:
        return f"{size} (not JSON: accepted, then parked in the consumer's dead-letter queue)"
    order = parsed.get("orderId") if isinstance(parsed, dict) else None
    return f"order {order}  {size}" if order else size
