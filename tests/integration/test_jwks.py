"""The JWKS cache: one fetch per sandbox, bounded refreshes, rotation and outages never turning into 403s."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest

from tests.integration.test_receive import emitted_metrics
from tests.support.events import api_event, pps_headers
from tests.support.jwks_server import JwksServer
from tests.support.receiver import Response, Sandbox
from tests.support.stack import Deployment
from tests.support.tokens import Signer

COOLDOWN = 1  # seconds, so the tests can wait one out


@pytest.fixture
def signed_by(stack: Deployment) -> Callable[[Signer], str]:
    environment = stack.environment()
    return lambda signer: signer.token(environment["PPS_ISSUER"], environment["PPS_AUDIENCE"])


def send(sandbox: Sandbox, token: str) -> Response:
    return sandbox.invoke(api_event("http", pps_headers(token)))


def test_the_jwks_is_fetched_once_per_sandbox(
    new_sandbox: Callable[..., Sandbox], token: Callable[..., str], jwks: JwksServer
) -> None:
    sandbox = new_sandbox()
    assert [send(sandbox, token()).status for _ in range(5)] == [200] * 5
    assert jwks.requests == 1

    send(new_sandbox(), token())
    assert jwks.requests == 2  # a new sandbox starts cold


def test_a_flood_of_unknown_kids_cannot_flood_the_jwks_endpoint(
    new_sandbox: Callable[..., Sandbox], token: Callable[..., str], jwks: JwksServer, stack: Deployment
) -> None:
    sandbox = new_sandbox(JWKS_REFRESH_COOLDOWN_SECONDS=str(COOLDOWN))
    assert send(sandbox, token()).status == 200
    strangers = [token(headers={"kid": f"random-{uuid.uuid4()}"}) for _ in range(20)]

    # Within the cooldown of the first fetch: no refresh, and no 403 either (the kid may be brand new)
    assert {send(sandbox, stranger).status for stranger in strangers} == {503}
    assert jwks.requests == 1

    # After it: one refresh decides the first unknown kid (403), the rest wait for the next cooldown
    time.sleep(COOLDOWN + 0.1)
    statuses = [send(sandbox, stranger).status for stranger in strangers]
    assert statuses[0] == 403
    assert set(statuses[1:]) == {503}
    assert jwks.requests == 2
    assert len(stack.claims()) == 1  # only the genuine webhook


def test_a_freshly_rotated_key_is_retried_not_refused(
    new_sandbox: Callable[..., Sandbox],
    token: Callable[..., str],
    signed_by: Callable[[Signer], str],
    jwks: JwksServer,
    sender: Signer,
    stack: Deployment,
) -> None:
    sandbox = new_sandbox(JWKS_REFRESH_COOLDOWN_SECONDS=str(COOLDOWN))
    assert send(sandbox, token()).status == 200
    # Given PPS rotates to a new key moments after this sandbox cached the JWKS
    rotated = Signer("pps-signing-key-2")
    jwks.keys = [sender.jwk(), rotated.jwk()]
    webhook = pps_headers(signed_by(rotated))

    # Then its first webhook is retried (503), never refused, and the retry after the cooldown lands
    assert sandbox.invoke(api_event("http", webhook)).status == 503
    time.sleep(COOLDOWN + 0.1)
    assert sandbox.invoke(api_event("http", {**webhook, "Authorization": f"Bearer {signed_by(rotated)}"})).status == 200
    assert [m.attributes["X-Pps-Webhook-Id"] for m in stack.published("OrdersPlacedTopic")][-1] == webhook[
        "X-Pps-Webhook-Id"
    ]


def test_a_key_removed_from_the_jwks_stops_working_once_the_cache_expires(
    new_sandbox: Callable[..., Sandbox], token: Callable[..., str], jwks: JwksServer
) -> None:
    sandbox = new_sandbox(JWKS_CACHE_SECONDS="1", JWKS_REFRESH_COOLDOWN_SECONDS="0")
    assert send(sandbox, token()).status == 200

    jwks.keys = [Signer("pps-signing-key-2").jwk()]  # PPS revoked key 1
    time.sleep(1.1)

    assert send(sandbox, token()).status == 403


@pytest.mark.parametrize("health", ["error", "garbage", "no-keys"])
def test_a_cold_sandbox_answers_503_while_the_jwks_is_unavailable_then_recovers(
    health: str,
    new_sandbox: Callable[..., Sandbox],
    token: Callable[..., str],
    jwks: JwksServer,
    stack: Deployment,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = new_sandbox(JWKS_REFRESH_COOLDOWN_SECONDS=str(COOLDOWN))
    jwks.health = health  # type: ignore[assignment]
    webhook = pps_headers(token())

    assert sandbox.invoke(api_event("http", webhook)).status == 503
    assert stack.claims() == []
    assert "JwksFetchFailed" in emitted_metrics(capsys)

    # A failed fetch is not retried before the cooldown: an outage does not hammer the endpoint
    assert sandbox.invoke(api_event("http", webhook)).status == 503
    assert jwks.requests == 1

    jwks.health = "ok"
    time.sleep(COOLDOWN + 0.1)
    assert sandbox.invoke(api_event("http", webhook)).status == 200
    assert len(stack.published("OrdersPlacedTopic")) == 1


def test_cached_keys_keep_working_through_an_outage_past_the_cache_lifespan(
    new_sandbox: Callable[..., Sandbox], token: Callable[..., str], jwks: JwksServer
) -> None:
    sandbox = new_sandbox(JWKS_CACHE_SECONDS="1", JWKS_REFRESH_COOLDOWN_SECONDS=str(COOLDOWN))
    assert send(sandbox, token()).status == 200
    jwks.health = "error"
    time.sleep(1.1)  # the cached JWKS has expired and cannot be refreshed

    assert [send(sandbox, token()).status for _ in range(3)] == [200, 200, 200]
    assert send(sandbox, token(headers={"kid": "never-seen"})).status == 503  # no cached key can decide
    assert jwks.requests == 2  # one failed refresh, then it waits out the cooldown


def test_a_hanging_jwks_endpoint_is_cut_off_by_the_fetch_timeout(
    new_sandbox: Callable[..., Sandbox], token: Callable[..., str], jwks: JwksServer
) -> None:
    sandbox = new_sandbox(JWKS_TIMEOUT_SECONDS="0.5")
    jwks.health = "hang"
    jwks.hang_seconds = 5

    started = time.monotonic()
    response = send(sandbox, token())

    assert response.status == 503
    assert time.monotonic() - started < 2
