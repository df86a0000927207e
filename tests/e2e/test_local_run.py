"""The local run (`make run`) end to end: started as a newcomer starts it, webhooks over real HTTP, and the
outcomes read from its AWS emulator (OrdersTable, the dead-letter queue). One run serves this module;
the last test stops it with Ctrl-C."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.local_run import LocalRun, eventually, local_run_in
from tools.devkit import dev_key
from tools.devkit.paths import ROOT
from tools.local.send import pps_timestamp

BODY_MARKER = "e2e-body-marker-7f3a"  # in every body: the run's output must never show a body
NOT_JSON = "this body is not JSON 51c2"
SECOND = 1_000_000_000


def order_body(order_id: str, status: str = "placed") -> str:
    return json.dumps({"orderId": order_id, "status": status, "note": BODY_MARKER})


def new_order_id() -> str:
    return f"ORD-E2E-{uuid.uuid4().hex[:8]}"


def token_of_another_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": dev_key.ISSUER, "aud": dev_key.AUDIENCE, "sub": "someone-else", "iat": now, "exp": now + 300}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": dev_key.KID})


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRun]:
    with local_run_in(ROOT, tmp_path_factory.mktemp("local-run") / "output.txt") as run:
        yield run


def test_a_signed_orders_placed_webhook_is_accepted_and_its_order_stored(local_run: LocalRun) -> None:
    order_id = new_order_id()

    status, answer = local_run.post(order_body(order_id))

    assert (status, answer["status"]) == (200, "accepted")
    stored = eventually(lambda: local_run.order(order_id), f"{order_id} in OrdersTable")
    assert stored["status"] == {"S": "placed"}
    # The example's own view: its line in the console, and `make orders`
    eventually(lambda: f"OU1243/{order_id} status=placed" in local_run.output(), "the order's line in the console")
    shown = subprocess.run(
        ["make", "--no-print-directory", "orders", f"LOCAL_AWS_PORT={local_run.aws_endpoint.rsplit(':', 1)[-1]}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    (row,) = [line for line in shown.stdout.splitlines() if order_id in line]
    assert row.split()[:3] == ["OU1243", order_id, "placed"]


def test_the_same_webhook_id_again_is_answered_duplicate(local_run: LocalRun) -> None:
    webhook_id, body = str(uuid.uuid4()), order_body(new_order_id())

    first = local_run.post(body, webhook_id=webhook_id)
    again = local_run.post(body, webhook_id=webhook_id)

    assert first == (200, {"status": "accepted", "webhookId": webhook_id})
    assert again == (200, {"status": "duplicate", "webhookId": webhook_id})


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(token_of_another_key, id="signed-by-another-key"),
        pytest.param(lambda: f"garbage-{uuid.uuid4().hex}", id="garbage"),
    ],
)
def test_a_bad_token_is_forbidden(local_run: LocalRun, make_token: Callable[[], str]) -> None:
    status, answer = local_run.post(order_body(new_order_id()), token=make_token())

    assert (status, answer) == (403, {"message": "Forbidden"})


def test_a_webhook_without_its_id_is_a_bad_request(local_run: LocalRun) -> None:
    status, answer = local_run.post(order_body(new_order_id()), without=("X-Pps-Webhook-Id",))

    assert status == 400
    assert answer["problems"] == ["missing header X-Pps-Webhook-Id"]


def test_a_webhook_id_sent_twice_over_http_is_a_bad_request_and_a_long_sub_topic_is_delivered(
    local_run: LocalRun,
) -> None:
    # Given a raw HTTP request carrying X-Pps-Webhook-Id twice (the API front joins them, as API Gateway does)
    host, port = local_run.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/webhooks")
    body = order_body(new_order_id()).encode()
    for name, value in [
        ("Authorization", f"Bearer {dev_key.token()}"),
        ("X-Pps-Topic", "orders/placed"),
        ("X-Pps-Tenant-Id", "OU1243"),
        ("X-Pps-Webhook-Id", str(uuid.uuid4())),
        ("X-Pps-Webhook-Id", str(uuid.uuid4())),
        ("Content-Length", str(len(body))),
    ]:
        connection.putheader(name, value)
    connection.endheaders(body)
    answer = connection.getresponse()

    # Then it is refused as ambiguous, before anything is written
    assert answer.status == 400
    assert json.loads(answer.read())["problems"] == ["header X-Pps-Webhook-Id has more than one value"]
    connection.close()

    # While a 2 KB sub-topic is no reason to refuse a webhook
    order_id = new_order_id()
    status, accepted = local_run.post(order_body(order_id), sub_topic="product:adv/" + "x" * 2048)
    assert (status, accepted["status"]) == (200, "accepted")
    eventually(lambda: local_run.order(order_id), f"{order_id} in OrdersTable")


def test_only_a_newer_orders_updated_changes_the_order(local_run: LocalRun) -> None:
    order_id, placed_at = new_order_id(), time.time_ns() - 60 * SECOND
    assert local_run.post(order_body(order_id), triggered_at=pps_timestamp(placed_at))[0] == 200
    eventually(lambda: local_run.order(order_id), f"{order_id} in OrdersTable")

    newer = pps_timestamp(placed_at + 20 * SECOND)
    assert local_run.post(order_body(order_id, "shipped"), topic="orders/updated", triggered_at=newer)[0] == 200
    eventually(lambda: (local_run.order(order_id) or {}).get("status") == {"S": "shipped"}, "the newer update applied")

    older = pps_timestamp(placed_at + 10 * SECOND)
    assert local_run.post(order_body(order_id, "cancelled"), topic="orders/updated", triggered_at=older)[0] == 200
    eventually(lambda: local_run.drained(local_run.physical_id("OrdersUpdatedQueue")), "the older update processed")
    assert (local_run.order(order_id) or {})["status"] == {"S": "shipped"}


def test_a_body_that_is_not_json_is_accepted_then_parked_while_a_good_one_is_processed(local_run: LocalRun) -> None:
    bad_id, good_order = str(uuid.uuid4()), new_order_id()

    assert local_run.post(NOT_JSON, webhook_id=bad_id)[0] == 200
    assert local_run.post(order_body(good_order))[0] == 200

    eventually(lambda: local_run.order(good_order), f"{good_order} in OrdersTable")
    parked = eventually(
        lambda: [
            message
            for message in local_run.dead_letters(local_run.physical_id("OrdersPlacedDeadLetterQueue"))
            if message["MessageAttributes"]["X-Pps-Webhook-Id"]["StringValue"] == bad_id
        ],
        "the malformed webhook in OrdersPlacedDeadLetterQueue, after its retries",
        timeout=40,
    )
    assert parked[0]["Body"] == NOT_JSON


def test_make_send_posts_a_signed_webhook(local_run: LocalRun) -> None:
    sent = subprocess.run(
        ["make", "--no-print-directory", "send"],
        cwd=ROOT,
        env={**os.environ, "URL": f"{local_run.url}/webhooks"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "200" in sent.stdout
    assert '"accepted"' in sent.stdout


def test_ctrl_c_stops_it_cleanly_and_it_printed_no_token_nor_body(local_run: LocalRun) -> None:
    # make passes the interrupt on once its command has finished (as in a terminal); the command itself stops cleanly
    assert local_run.stop() in (0, -signal.SIGINT)

    output = local_run.output()
    assert "Bye" in output
    assert not [line for line in output.splitlines() if line.startswith("Traceback")]  # none of the run's own
    assert local_run.tokens_sent
    assert [token for token in local_run.tokens_sent if token in output] == []
    assert BODY_MARKER not in output
    assert NOT_JSON not in output
    assert '"_aws"' not in output  # no metric (EMF) JSON on the console
