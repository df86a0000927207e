"""One measured process of the benchmark: `python -m bench.child MODE [COUNT]`.

Modes: cold-receiver / cold-floor (a fresh process up to its first webhook answered), warm-receiver /
warm-floor (CPU per webhook once warm), import-build (importing the receiver from a built artifact).
The first statement takes the start time, so a cold measurement includes every import.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

MARKER = "BENCH-RESULT "


def report(**figures: Any) -> None:
    figures["max_rss_kb"] = peak_rss_kb()
    sys.stdout.write(MARKER + json.dumps(figures) + "\n")
    sys.stdout.flush()


def peak_rss_kb() -> int:
    """This process's own peak: Linux carries ru_maxrss across exec, so it would be the bench parent's if larger."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


_event: dict[str, Any] = {}


def webhook_event(webhook_id: str) -> dict[str, Any]:
    """The API Gateway event bench/run.py built (tools/devkit/events.py), with this webhook id: parsed once, then
    copied as cheaply as a literal would be built, since the warm loop measures the CPU of each webhook."""
    if not _event:
        _event.update(json.loads(os.environ["BENCH_EVENT"]))
    return {**_event, "headers": {**_event["headers"], "x-pps-webhook-id": webhook_id}}


def receiver() -> Callable[[str], int]:
    import importlib

    from tools.devkit.lambda_context import LambdaContext  # what Lambda's runtime hands the handler: not the floor's

    app = importlib.import_module("app")  # bench/run.py puts the function's directory first, as /var/task on Lambda
    context = LambdaContext(function_name="bench-receiver")

    def handle(webhook_id: str) -> int:
        status: int = app.lambda_handler(webhook_event(webhook_id), context)["statusCode"]
        return status

    return handle


def floor() -> Callable[[str], int]:
    """The least any receiver must do for a new webhook, with the same libraries and SDK settings."""
    import boto3
    import jwt
    from botocore.config import Config

    config = Config(connect_timeout=1, read_timeout=3, retries={"mode": "standard", "total_max_attempts": 2})
    dynamodb = boto3.client("dynamodb", config=config)
    sns = boto3.client("sns", config=config)
    jwks = jwt.PyJWKClient(os.environ["PPS_JWKS_URI"], timeout=3)
    table, topic_arn = os.environ["IDEMPOTENCY_TABLE"], json.loads(os.environ["TOPIC_ARNS"])["orders/placed"]
    token = os.environ["BENCH_TOKEN"]

    def handle(webhook_id: str) -> int:
        key = jwks.get_signing_key(jwt.get_unverified_header(token)["kid"])
        jwt.decode(
            token, key, algorithms=["RS256"], audience=os.environ["PPS_AUDIENCE"], issuer=os.environ["PPS_ISSUER"]
        )
        item_key = {"id": {"S": f"OU1243#{webhook_id}"}}
        dynamodb.put_item(
            TableName=table,
            Item={**item_key, "status": {"S": "INPROGRESS"}, "expiration": {"N": "9999999999"}},
            ConditionExpression="attribute_not_exists(id)",
        )
        event = webhook_event(webhook_id)
        attributes: dict[str, Any] = {
            name: {"DataType": "String", "StringValue": value}
            for name, value in event["headers"].items()
            if name.startswith("x-pps-")
        }
        sns.publish(TopicArn=topic_arn, Message=event["body"], MessageAttributes=attributes)
        dynamodb.update_item(
            TableName=table,
            Key=item_key,
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "COMPLETED"}},
        )
        return 200

    return handle


def main() -> None:
    mode = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    if mode == "import-build":
        import importlib

        importlib.import_module("app")
        report(seconds=time.perf_counter() - STARTED)
        return
    handle = receiver() if mode.endswith("receiver") else floor()
    if mode.startswith("cold"):
        status = handle(os.environ.get("BENCH_WEBHOOK_ID") or str(uuid.uuid4()))
        report(seconds=time.perf_counter() - STARTED, status=status)
        return
    for _ in range(20):  # warm-up: JWKS fetched, connections open, every code path run
        handle(str(uuid.uuid4()))
    ids = [str(uuid.uuid4()) for _ in range(count)]
    cpu = time.process_time()
    statuses = {handle(webhook_id) for webhook_id in ids}
    report(cpu_per_webhook=(time.process_time() - cpu) / count, statuses=sorted(statuses))


if __name__ == "__main__":
    main()
