"""The receiver's contract, driven with real API Gateway events against moto over HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.aws_proxy import AwsProxy
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment
from tools.devkit.events import FORMATS, ORDER_BODY, Format, api_event, pps_headers

PPS_ATTRIBUTES = ("X-Pps-Topic", "X-Pps-Sub-Topic", "X-Pps-Tenant-Id", "X-Pps-Webhook-Id", "X-Pps-Triggered-At")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_verified_webhook_is_published_once_to_its_topic(
    fmt: Format, sandbox: Sandbox, stack: Deployment, token: Callable[..., str], aws_proxy: AwsProxy
) -> None:
    # Given a webhook PPS signed, as API Gateway delivers it
    headers = pps_headers(token())
    # When it arrives
    response = sandbox.invoke(api_event(fmt, headers, ORDER_BODY))
    # Then it is accepted and published, unchanged, with its headers as String attributes
    assert response.status == 200
    assert response.body == {"status": "accepted", "webhookId": headers["X-Pps-Webhook-Id"]}
    published = stack.all_published()
    counts = [len(published[topic]) for topic in ("OrdersPlacedTopic", "OrdersUpdatedTopic", "UnroutedTopic")]
    assert counts == [1, 0, 0]
    (message,) = published["OrdersPlacedTopic"]
    assert message.message == ORDER_BODY
    assert message.attributes == {name: headers[name] for name in PPS_ATTRIBUTES}
    assert set(message.attribute_types.values()) == {"String"}
    # And the record is marked completed, with a TTL, in three AWS calls
    (record,) = stack.records()
    assert record["status"] == "COMPLETED"
    assert record["expiration"] > 0
    record = json.loads(record["data"])
    assert record["webhook_id"] == headers["X-Pps-Webhook-Id"]
    assert record["tenant_id"] == "OU1243"
    assert aws_proxy.calls == ["dynamodb.PutItem", "sns.Publish", "dynamodb.UpdateItem"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_repeated_webhook_is_answered_200_and_not_published_again(
    fmt: Format, sandbox: Sandbox, stack: Deployment, token: Callable[..., str], aws_proxy: AwsProxy
) -> None:
    headers = pps_headers(token())
    assert sandbox.invoke(api_event(fmt, headers)).status == 200
    aws_proxy.reset()

    again = sandbox.invoke(api_event(fmt, {**headers, "Authorization": f"Bearer {token()}"}))

    assert again.status == 200
    assert again.body["status"] == "duplicate"
    assert len(stack.published("OrdersPlacedTopic")) == 1
    assert aws_proxy.calls == ["dynamodb.PutItem"]


def test_duplicates_are_detected_across_sandboxes(
    new_sandbox: Callable[..., Sandbox], stack: Deployment, token: Callable[..., str]
) -> None:
    headers = pps_headers(token())
    assert new_sandbox().invoke(api_event("http", headers)).body["status"] == "accepted"
    assert new_sandbox().invoke(api_event("rest", headers)).body["status"] == "duplicate"
    assert len(stack.published("OrdersPlacedTopic")) == 1


def test_the_same_webhook_id_from_another_tenant_is_a_different_webhook(
    sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    webhook_id = str(uuid.uuid4())
    for tenant in ("OU1243", "OU9999"):
        response = sandbox.invoke(api_event("http", pps_headers(token(), tenant_id=tenant, webhook_id=webhook_id)))
        assert response.body["status"] == "accepted"
    assert sorted(m.attributes["X-Pps-Tenant-Id"] for m in stack.published("OrdersPlacedTopic")) == ["OU1243", "OU9999"]


def test_each_topic_goes_to_its_own_sns_topic(sandbox: Sandbox, stack: Deployment, token: Callable[..., str]) -> None:
    sandbox.invoke(api_event("http", pps_headers(token(), topic="orders/placed")))
    sandbox.invoke(api_event("http", pps_headers(token(), topic="orders/updated")))

    published = stack.all_published()
    assert [m.attributes["X-Pps-Topic"] for m in published["OrdersPlacedTopic"]] == ["orders/placed"]
    assert [m.attributes["X-Pps-Topic"] for m in published["OrdersUpdatedTopic"]] == ["orders/updated"]
    assert published["UnroutedTopic"] == []


def test_an_unmapped_topic_is_accepted_and_parked_on_the_unrouted_topic(
    sandbox: Sandbox, stack: Deployment, token: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    response = sandbox.invoke(api_event("http", pps_headers(token(), topic="invoices/paid")))

    assert response.status == 200
    published = stack.all_published()
    assert [m.attributes["X-Pps-Topic"] for m in published["UnroutedTopic"]] == ["invoices/paid"]
    assert published["OrdersPlacedTopic"] == published["OrdersUpdatedTopic"] == []
    assert "Unrouted" in emitted_metrics(capsys)


@pytest.mark.parametrize("fmt", FORMATS)
def test_header_names_and_the_bearer_scheme_are_case_insensitive(
    fmt: Format, sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    headers = {name.upper(): value for name, value in pps_headers(token(), scheme="bEaReR").items()}
    event = api_event(fmt, {}, ORDER_BODY)
    event["headers"].update(headers)

    assert sandbox.invoke(event).status == 200
    (message,) = stack.published("OrdersPlacedTopic")
    assert message.attributes["X-Pps-Webhook-Id"] == headers["X-PPS-WEBHOOK-ID"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_base64_encoded_body_is_published_decoded_and_byte_for_byte(
    fmt: Format, sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    body = '{"orderId":"ORD-7","note":"caf\u00e9 \u2713","nested":{"a":[1,2,3]}}\n'
    response = sandbox.invoke(api_event(fmt, pps_headers(token()), body, base64_body=True))

    assert response.status == 200
    (message,) = stack.published("OrdersPlacedTopic")
    assert message.message == body


def test_optional_headers_are_passed_through_untouched_or_left_out(
    sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    odd_but_real = "2024-01-1T10:00:00.7777748Z"  # the guide's own example: not strict ISO 8601
    sandbox.invoke(api_event("http", pps_headers(token(), triggered_at=odd_but_real, sub_topic="product:cdv/cdv-120")))
    sandbox.invoke(api_event("http", pps_headers(token(), triggered_at=None, sub_topic=None)))

    with_all, without = stack.published("OrdersPlacedTopic")
    assert with_all.attributes["X-Pps-Triggered-At"] == odd_but_real
    assert with_all.attributes["X-Pps-Sub-Topic"] == "product:cdv/cdv-120"
    assert set(without.attributes) == {"X-Pps-Topic", "X-Pps-Tenant-Id", "X-Pps-Webhook-Id"}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("missing", "problem"),
    [
        ("X-Pps-Topic", "missing header X-Pps-Topic"),
        ("X-Pps-Tenant-Id", "missing header X-Pps-Tenant-Id"),
        ("X-Pps-Webhook-Id", "missing header X-Pps-Webhook-Id"),
    ],
)
def test_a_missing_required_header_is_a_400_naming_it(
    fmt: Format, missing: str, problem: str, sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    headers = {name: value for name, value in pps_headers(token()).items() if name != missing}

    response = sandbox.invoke(api_event(fmt, headers))

    assert response.status == 400
    assert problem in response.body["problems"]
    assert stack.records() == []
    assert stack.all_published() == {topic: [] for topic in stack.capture_queues}


@pytest.mark.parametrize("body", [None, "", "   "])
def test_an_empty_body_is_a_400(
    body: str | None, sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    response = sandbox.invoke(api_event("http", pps_headers(token()), body))

    assert response.status == 400
    assert "missing body" in response.body["problems"]
    assert stack.records() == []


def test_every_problem_is_named_at_once(sandbox: Sandbox, token: Callable[..., str]) -> None:
    headers = pps_headers(token(), topic=None, webhook_id="")
    response = sandbox.invoke(api_event("rest", headers, None))

    assert response.status == 400
    assert response.body["problems"] == [
        "missing header X-Pps-Topic",
        "missing header X-Pps-Webhook-Id",
        "missing body",
    ]


def test_a_body_that_is_not_valid_base64_is_a_400(sandbox: Sandbox, token: Callable[..., str]) -> None:
    event = api_event("http", pps_headers(token()))
    event["isBase64Encoded"] = True
    event["body"] = "not base64 at all!"

    assert sandbox.invoke(event).status == 400


def test_a_body_that_is_not_utf8_is_a_400(sandbox: Sandbox, stack: Deployment, token: Callable[..., str]) -> None:
    response = sandbox.invoke(api_event("http", pps_headers(token()), b"\xff\xfe\x00binary", base64_body=True))

    assert response.status == 400
    assert stack.records() == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unlisted_tenant_is_refused_with_403_and_nothing_is_written(
    fmt: Format, new_sandbox: Callable[..., Sandbox], stack: Deployment, token: Callable[..., str]
) -> None:
    sandbox = new_sandbox(PPS_ALLOWED_TENANTS="OU1243, OU2000")

    refused = sandbox.invoke(api_event(fmt, pps_headers(token(), tenant_id="OU6666")))
    allowed = sandbox.invoke(api_event(fmt, pps_headers(token(), tenant_id="OU2000")))

    assert refused.status == 403
    assert refused.body == {"message": "Forbidden"}
    assert allowed.status == 200
    assert [m.attributes["X-Pps-Tenant-Id"] for m in stack.published("OrdersPlacedTopic")] == ["OU2000"]
    assert len(stack.records()) == 1


def test_logs_carry_ids_but_never_the_token_headers_or_body(
    sandbox: Sandbox, token: Callable[..., str], logs: Callable[[], list[dict[str, Any]]]
) -> None:
    secret_body = '{"orderId":"ORD-SECRET-BODY-31337"}'
    good = token()
    headers = pps_headers(good)
    sandbox.invoke(api_event("http", headers, secret_body))
    forged = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
    sandbox.invoke(api_event("http", pps_headers(forged), secret_body))

    lines = logs()
    text = json.dumps(lines)
    assert good not in text
    assert forged.split(".")[2] not in text
    assert "ORD-SECRET-BODY-31337" not in text
    assert "product:adv/adv-120" not in text  # a header we never log
    published = next(line for line in lines if line["message"] == "Webhook published")
    assert published["webhook_id"] == headers["X-Pps-Webhook-Id"]
    assert published["topic"] == "orders/placed"
    assert published["tenant_id"] == "OU1243"
    refused = next(line for line in lines if line["message"].startswith("Webhook refused"))
    assert refused["reason"] == "bad-signature"


def test_metrics_count_accepted_duplicate_and_rejected_by_reason(
    sandbox: Sandbox, token: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    headers = pps_headers(token())
    sandbox.invoke(api_event("http", headers))
    assert "Accepted" in emitted_metrics(capsys)
    sandbox.invoke(api_event("http", headers))
    assert "Duplicate" in emitted_metrics(capsys)
    sandbox.invoke(api_event("http", pps_headers(None)))
    rejected = emitted_metrics(capsys)
    assert rejected["Rejected"] == {"Reason": "missing-token"}


def emitted_metrics(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, str]]:
    """The CloudWatch EMF metrics printed since the last call: name -> its dimensions."""
    found: dict[str, dict[str, str]] = {}
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: blob[name] for group in directive["Dimensions"] for name in group if name != "service"}
            for metric in directive["Metrics"]:
                found[metric["Name"]] = dimensions
    return found
