"""`make send`: POST a webhook, signed with the development key, to the local run (`make run`).

Every setting is optional (make variables, read from the environment):
  TOPIC         X-Pps-Topic                      orders/placed
  BODY          JSON text, or @path/to/file       a sample order with a fresh orderId
  REPEAT        send it N times, same webhook id  1 (the 2nd and later answer "duplicate")
  WEBHOOK_ID    X-Pps-Webhook-Id                 a fresh UUID
  SUB_TOPIC     X-Pps-Sub-Topic (empty: none)    product:adv/adv-120
  TENANT        X-Pps-Tenant-Id                  OU1243
  TRIGGERED_AT  X-Pps-Triggered-At               now, as PPS writes it (7 fractional digits, UTC)
  URL           where to POST                    http://127.0.0.1:3000/webhooks
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tools.devkit import dev_key

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
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "X-Pps-Topic": self.topic,
            "X-Pps-Sub-Topic": self.sub_topic,
            "X-Pps-Tenant-Id": self.tenant_id,
            "X-Pps-Webhook-Id": self.webhook_id,
            "X-Pps-Triggered-At": self.triggered_at,
        }
        return {name: value for name, value in headers.items() if value}


def pps_timestamp(epoch_ns: int | None = None) -> str:
    """UTC with seven fractional digits, as PPS writes X-Pps-Triggered-At: 2024-01-01T10:00:00.7777748Z."""
    ns = time.time_ns() if epoch_ns is None else epoch_ns
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000 // 100:07d}Z"


def sample_body(topic: str = "orders/placed") -> str:
    status = "shipped" if topic == "orders/updated" else "placed"
    order = {"orderId": f"ORD-{secrets.token_hex(3).upper()}", "status": status, "product": "adv-120", "quantity": 2}
    return json.dumps({**order, "currency": "USD"}, separators=(",", ":"))


def webhook_from(env: Mapping[str, str]) -> Webhook:
    topic = env.get("TOPIC") or "orders/placed"
    body = env.get("BODY") or sample_body(topic)
    if body.startswith("@"):
        body = Path(body[1:]).read_text()
    return Webhook(
        topic=topic,
        tenant_id=env.get("TENANT") or "OU1243",
        webhook_id=env.get("WEBHOOK_ID") or str(uuid.uuid4()),
        sub_topic=env.get("SUB_TOPIC", "product:adv/adv-120"),
        triggered_at=env.get("TRIGGERED_AT") or pps_timestamp(),
        body=body,
    )


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


def main() -> int:
    url = os.environ.get("URL") or DEFAULT_URL
    repeat = os.environ.get("REPEAT") or "1"
    if not repeat.isdigit() or int(repeat) < 1:
        print(f"make send: REPEAT must be a whole number >= 1, not {repeat!r}", file=sys.stderr)  # noqa: T201
        return 2
    if urlsplit(url).scheme not in ("http", "https"):
        print(f"make send: URL must be http(s)://..., not {url!r}", file=sys.stderr)  # noqa: T201
        return 2
    try:
        webhook = webhook_from(os.environ)
    except OSError as error:
        print(f"make send: cannot read BODY from {error.filename}: {error.strerror}", file=sys.stderr)  # noqa: T201
        return 2
    print(f"POST {url}")  # noqa: T201 - a command-line tool's output
    print(f"  {webhook.topic}  webhook {webhook.webhook_id}  tenant {webhook.tenant_id}  {_about(webhook.body)}")  # noqa: T201
    headers = webhook.headers(dev_key.token())
    statuses = []
    for attempt in range(1, int(repeat) + 1):
        try:
            status, answer = post(url, headers, webhook.body.encode())
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            print(f"Nothing answers at {url} ({reason}).", file=sys.stderr)  # noqa: T201
            print("Start the local run first, in another terminal: make run", file=sys.stderr)  # noqa: T201
            return 1
        prefix = f"[{attempt}/{repeat}] " if int(repeat) > 1 else ""
        print(f"{prefix}{status} {answer}")  # noqa: T201
        statuses.append(status)
    if 403 in statuses:
        print(  # noqa: T201
            "403: the local run trusts the development key, unless it was started with PPS_ISSUER, "
            "PPS_AUDIENCE or PPS_JWKS_URI set."
        )
    if all(200 <= status < 300 for status in statuses):
        print("Follow the deliveries in the `make run` console; `make orders` shows OrdersTable.")  # noqa: T201
        return 0
    return 1


def _about(body: str) -> str:
    size = f"{len(body.encode())} bytes"
    try:
        parsed = json.loads(body)
    except ValueError:
        return f"{size} (not JSON: accepted, then parked in the consumer's dead-letter queue)"
    order = parsed.get("orderId") if isinstance(parsed, dict) else None
    return f"order {order}  {size}" if order else size


if __name__ == "__main__":
    sys.exit(main())
