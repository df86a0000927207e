"""What the local run prints once it is up: where everything is, and what to paste to try it."""

from __future__ import annotations

import json
import shlex
import uuid
from collections.abc import Mapping, Sequence

from tools.devkit import dev_key
from tools.devkit.emulator import REGION
from tools.devkit.stack import Deployment
from tools.local.http_api import JWKS_PATH, HttpApi
from tools.local.pollers import Poller
from tools.local.send import DEFAULT_URL, Webhook, pps_timestamp, sample_body

EXAMPLE_TOKEN_SECONDS = 24 * 3600


def banner(
    deployment: Deployment,
    api: HttpApi,
    pollers: Sequence[Poller],
    trust: Mapping[str, str],
    log_level: str,
    hints: Sequence[tuple[str, str]] = (),
) -> str:
    """What runs where, and what to try; `hints` are the project's views' own (command, what it shows)."""
    lines = ["", "pps-webhooks is running locally: template.yaml's stack in moto, the real handlers here.", ""]
    rows = [
        ("Webhooks" if n == 0 else "", _route(api.url, key, f.name)) for n, (key, f) in enumerate(api.routes.items())
    ]
    rows += [
        ("JWKS", f"{api.url}{JWKS_PATH}  (the development key's)"),
        ("Trusts", _trust(trust)),
        ("AWS endpoint", f"{deployment.endpoint}  (moto, in memory; region {REGION}, any credentials)"),
    ]
    tables = deployment.of_type("AWS::DynamoDB::Table")
    rows += [("Tables" if n == 0 else "", f"{name}  {deployment.refs[name]}") for n, name in enumerate(tables)]
    rows += _queues(deployment)
    rows += [("Consumers" if n == 0 else "", f"{p.function.name} <- {p.source}") for n, p in enumerate(pollers)]
    width = max(len(label) for label, _ in rows)
    lines += [f"  {label.ljust(width)}  {value}" for label, value in rows]
    example = Webhook(
        topic="orders/placed",
        tenant_id="OU1243",
        webhook_id=str(uuid.uuid4()),
        sub_topic="product:adv/adv-120",
        triggered_at=pps_timestamp(),
        body=sample_body(),
    )
    order_id = json.loads(example.body)["orderId"]
    lines += ["", *_try_it(api.url, order_id, hints), "", *_operate(deployment.endpoint, pollers)]
    lines += ["", *_curl(api.url, example), ""]
    shown = "every line" if log_level in ("DEBUG", "INFO") else f"{log_level} and above"
    lines += [
        f"The functions' own JSON logs show {shown} (LOG_LEVEL=INFO make run shows all).",
        "Each webhook's steps follow below. Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def _route(url: str, key: str, function: str) -> str:
    method, path = key.split(" ", 1) if key != "$default" else ("ANY", "/*")
    return f"{method} {url}{path}  -> {function}"


def _trust(trust: Mapping[str, str]) -> str:
    trusted = f"tokens of iss {trust.get('PPS_ISSUER')}, aud {trust.get('PPS_AUDIENCE')}"
    if trust.get("PPS_ALLOWED_TENANTS"):
        trusted += f", tenants {trust['PPS_ALLOWED_TENANTS']}"
    if trust.get("PPS_ISSUER") == dev_key.ISSUER:
        return f"{trusted}: the development key signs them"
    return f"{trusted}, keys from {trust.get('PPS_JWKS_URI') or 'the issuer'}: development tokens are refused"


def _queues(deployment: Deployment) -> list[tuple[str, str]]:
    """Each queue with its dead-letter queue under it."""
    queues = deployment.of_type("AWS::SQS::Queue")
    dead_letters = {
        name: deployment.logical_id_of(props["RedrivePolicy"]["deadLetterTargetArn"], "AWS::SQS::Queue")
        for name in queues
        if "RedrivePolicy" in (props := deployment.properties(name))
    }
    rows: list[tuple[str, str]] = []
    for name in queues:
        if name in dead_letters.values():
            continue
        rows.append(("Queues" if not rows else "", f"{name}  {deployment.refs[name]}"))
        if (dead_letter_queue := dead_letters.get(name)) is not None:
            rows.append(("", f"  dead letters: {deployment.refs[dead_letter_queue]}"))
    return rows


def _try_it(url: str, order_id: str, hints: Sequence[tuple[str, str]]) -> list[str]:
    send = "make send" if f"{url}/webhooks" == DEFAULT_URL else f"make send URL={url}/webhooks"
    update = shlex.quote(json.dumps({"orderId": order_id, "status": "shipped"}, separators=(",", ":")))
    examples = [
        (send, "a signed orders/placed webhook: a new order"),
        (f"{send} REPEAT=2", "the same webhook id twice: the second answer is a duplicate"),
        (f"{send} BODY=not-json", "accepted, then retried and parked in the dead-letter queue"),
        *hints,
    ]
    width = max(len(command) for command, _ in examples)
    lines = [f"  {command.ljust(width)}  # {what}" for command, what in examples]
    lines.append(f"  {send} TOPIC=orders/updated BODY={update}  # updates the order of the curl below")
    return ["Try it, in another terminal:", *lines]


def _operate(endpoint: str, pollers: Sequence[Poller]) -> list[str]:
    """The operator commands (ops/), pointed at this run's emulator as the SDK is pointed at any endpoint."""
    consumers = [poller.function.name for poller in pollers if poller.mapping is not None]
    examples = [("make status", "each consumer: running or paused, its queue's depth, oldest message, dead letters")]
    if consumers:
        examples += [
            (f"make pause CONSUMER={consumers[0]}", "its webhooks wait in its queue; the others keep receiving"),
            (f"make resume CONSUMER={consumers[0]}", "it works through what waited"),
        ]
    width = max(len(command) for command, _ in examples)
    return [
        "Operate it as the deployed stack (make status, pause, resume, replay, redrive), in a terminal where",
        f"  export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local",
        *(f"  {command.ljust(width)}  # {what}" for command, what in examples),
    ]


def _curl(url: str, webhook: Webhook) -> list[str]:
    headers = webhook.headers(dev_key.token(lifetime=EXAMPLE_TOKEN_SECONDS))
    lines = [f"  curl -i {url}/webhooks \\"]
    lines += [f"    -H {shlex.quote(f'{name}: {value}')} \\" for name, value in headers.items()]
    lines += [f"    -d {shlex.quote(webhook.body)}"]
    return ["Or with curl (a development token, valid for 24 hours):", *lines]
