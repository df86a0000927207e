"""Injected DynamoDB, SNS and S3 failures: always a 5xx the sender retries, then exactly one publish."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from tests.integration.conftest import sandbox_environment
from tests.integration.test_receive import emitted_metrics
from tests.support.aws_proxy import AwsProxy, Mode
from tests.support.processes import start_invocations
from tests.support.receiver import Response, Sandbox
from tests.support.stack import Deployment
from tools.devkit.events import api_event, pps_headers
from tools.devkit.lambda_context import LambdaContext


def retry(sandbox: Sandbox, headers: dict[str, str], token: Callable[..., str]) -> Response:
    """The sender's retry: the same webhook with a fresh token."""
    return sandbox.invoke(api_event("http", {**headers, "Authorization": f"Bearer {token()}"}))


@pytest.mark.parametrize("mode", ["error", "drop"])
def test_a_failed_record_write_is_a_5xx_and_publishes_nothing(
    mode: Mode, sandbox: Sandbox, stack: Deployment, token: Callable[..., str], aws_proxy: AwsProxy
) -> None:
    headers = pps_headers(token())
    aws_proxy.fail("dynamodb.PutItem", mode=mode)

    response = sandbox.invoke(api_event("http", headers))

    assert response.status == 500
    assert aws_proxy.count("sns.Publish") == 0
    assert aws_proxy.count("dynamodb.PutItem") == 2  # bounded retries
    aws_proxy.heal()
    assert retry(sandbox, headers, token).status == 200
    assert len(stack.published("OrdersPlacedTopic")) == 1


@pytest.mark.parametrize("mode", ["error", "drop"])
def test_a_failed_publish_releases_the_record_so_the_retry_publishes(
    mode: Mode,
    sandbox: Sandbox,
    stack: Deployment,
    token: Callable[..., str],
    aws_proxy: AwsProxy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    headers = pps_headers(token())
    aws_proxy.fail("sns.Publish", mode=mode)

    response = sandbox.invoke(api_event("http", headers))

    assert response.status == 500
    assert emitted_metrics(capsys)["DeliveryFailed"] == {"Reason": "publish-failed"}
    assert stack.records() == []  # released
    assert stack.published("OrdersPlacedTopic") == []
    aws_proxy.heal()
    assert retry(sandbox, headers, token).status == 200
    assert len(stack.published("OrdersPlacedTopic")) == 1


def test_when_neither_publish_nor_release_works_the_record_expires_with_the_invocation(
    sandbox: Sandbox, stack: Deployment, token: Callable[..., str], aws_proxy: AwsProxy
) -> None:
    headers = pps_headers(token())
    aws_proxy.fail("sns.Publish")
    aws_proxy.fail("dynamodb.DeleteItem")
    started = time.monotonic()

    assert sandbox.invoke(api_event("http", headers), LambdaContext(timeout_seconds=5)).status == 500
    aws_proxy.heal()

    # The stuck record holds the id while its invocation could still be running ...
    assert time.monotonic() - started < 4.5
    assert retry(sandbox, headers, token).status == 503
    # ... and not a moment longer than that invocation's timeout
    time.sleep(max(0.0, 5.1 - (time.monotonic() - started)))
    assert retry(sandbox, headers, token).status == 200
    assert len(stack.published("OrdersPlacedTopic")) == 1


def test_a_record_that_cannot_be_marked_completed_still_answers_200_once_published(
    sandbox: Sandbox,
    stack: Deployment,
    token: Callable[..., str],
    aws_proxy: AwsProxy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws_proxy.fail("dynamodb.UpdateItem")

    response = sandbox.invoke(api_event("http", pps_headers(token())))

    # The event is out: a 5xx here would only make the sender publish it a second time
    assert response.status == 200
    assert len(stack.published("OrdersPlacedTopic")) == 1
    assert "ClaimNotCompleted" in emitted_metrics(capsys)


def test_a_webhook_still_in_flight_elsewhere_gets_a_503_then_its_retry_is_a_duplicate(
    new_sandbox: Callable[..., Sandbox], stack: Deployment, token: Callable[..., str], aws_proxy: AwsProxy
) -> None:
    first, second = new_sandbox(), new_sandbox()
    headers = pps_headers(token())
    aws_proxy.fail("sns.Publish", mode="delay", seconds=1.5, times=1)
    outcome: list[Response] = []
    slow = threading.Thread(target=lambda: outcome.append(first.invoke(api_event("http", headers))))
    slow.start()
    while aws_proxy.count("sns.Publish") == 0:
        time.sleep(0.01)

    in_flight = retry(second, headers, token)
    slow.join()

    assert in_flight.status == 503
    assert in_flight.headers["Retry-After"]
    assert outcome[0].status == 200
    assert retry(second, headers, token).body["status"] == "duplicate"
    assert len(stack.published("OrdersPlacedTopic")) == 1


def test_a_sandbox_that_dies_mid_delivery_blocks_the_id_only_until_its_timeout(
    new_sandbox: Callable[..., Sandbox], stack: Deployment, token: Callable[..., str], aws_proxy: AwsProxy
) -> None:
    headers = pps_headers(token())
    aws_proxy.fail("sns.Publish", mode="hang", seconds=30)
    invocation = start_invocations(
        sandbox_environment(stack, aws_proxy), api_event("http", headers), 1, timeout_ms=3000
    )
    (doomed,) = invocation.processes
    deadline = time.monotonic() + 30
    while aws_proxy.count("sns.Publish") == 0:
        assert time.monotonic() < deadline, "the doomed sandbox never reached its publish"
        time.sleep(0.01)
    recorded_at = time.monotonic()
    doomed.kill()  # the sandbox crashes after recording the id, before publishing
    doomed.join()
    aws_proxy.heal()
    survivor = new_sandbox()

    assert retry(survivor, headers, token).status == 503
    time.sleep(max(0.0, 3.1 - (time.monotonic() - recorded_at)))
    assert retry(survivor, headers, token).status == 200
    assert len(stack.published("OrdersPlacedTopic")) == 1


def test_a_hanging_dependency_ends_in_a_5xx_well_inside_api_gateways_30_seconds(
    sandbox: Sandbox, token: Callable[..., str], aws_proxy: AwsProxy
) -> None:
    aws_proxy.fail("dynamodb.PutItem", mode="hang", seconds=40)

    started = time.monotonic()
    response = sandbox.invoke(api_event("http", pps_headers(token())))
    elapsed = time.monotonic() - started

    assert response.status == 500
    assert elapsed < 10
