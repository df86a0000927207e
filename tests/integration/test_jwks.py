"""The JWKS cache: one fetch per sandbox, bounded refreshes, rotation and outages never turning into 403s,
and a fetch that fails safe whatever the endpoint or the network does."""

from __future__ import annotations

import contextlib
import socket
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from pps_webhooks.jwks import MAX_JWKS_BYTES, fetch_document
from tests.integration.test_receive import emitted_metrics
from tests.support.jwks_server import Health, JwksServer
from tests.support.receiver import Response, Sandbox
from tests.support.stack import Deployment
from tests.support.tokens import Signer
from tools.devkit.events import api_event, pps_headers

COOLDOWN = 1  # seconds, so the tests can wait one out

# Every way the JWKS fetch can go wrong short of an error status: each must be a failed fetch (metric, cached
# keys used, 503 where none decides, a pause before the next try), never an unhandled error, never a long wait.
MISBEHAVIOURS: list[Health] = [
    "reset-mid-body",
    "trickle-body",
    "trickle-headers",
    "large",
    "large-unsized",
    "large-chunked",
    "nested",
    "garbage",
    "redirect",
    "plaintext",
    "untrusted-cert",
    "trickle-handshake",
]
TLS_MISBEHAVIOURS = {"plaintext", "untrusted-cert", "trickle-handshake"}


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
    assert len(stack.records()) == 1  # only the genuine webhook


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
    assert stack.records() == []
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


@pytest.fixture(scope="module")
def tls_jwks_server() -> Iterator[JwksServer]:
    server = JwksServer(tls=True).start()
    yield server
    server.stop()


@pytest.fixture
def endpoint(
    misbehaviour: Health,
    jwks: JwksServer,
    tls_jwks_server: JwksServer,
    sender: Signer,
    monkeypatch: pytest.MonkeyPatch,
) -> JwksServer:
    """The JWKS endpoint a test makes misbehave: the TLS one (its certificate trusted, so only the misbehaviour
    fails the fetch) for the TLS failures, else the plain one; healthy until the test says otherwise."""
    if misbehaviour not in TLS_MISBEHAVIOURS:
        server = jwks
    else:
        server = tls_jwks_server
        server.reset([sender.jwk()])
        monkeypatch.setenv("SSL_CERT_FILE", server.ca_file)
    server.large_bytes = MAX_JWKS_BYTES + 1  # one byte over the cap
    server.trickle_seconds = 2.5  # longer than any deadline and time limit here, short enough for a failing test
    return server


@pytest.mark.parametrize(
    "misbehaviour",
    [*MISBEHAVIOURS, "trickle-body-closing"],
)
def test_whatever_the_jwks_endpoint_does_the_fetch_fails_safe(
    misbehaviour: Health,
    endpoint: JwksServer,
    new_sandbox: Callable[..., Sandbox],
    token: Callable[..., str],
    stack: Deployment,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = {
        "PPS_JWKS_URI": endpoint.jwks_uri,
        "JWKS_CACHE_SECONDS": "1",
        "JWKS_TIMEOUT_SECONDS": "0.5",
        "JWKS_REFRESH_COOLDOWN_SECONDS": str(COOLDOWN),
    }
    # Given a warm sandbox that has the JWKS cached, then its endpoint misbehaving
    warm = new_sandbox(**settings)
    assert send(warm, token()).status == 200
    cached_at = time.monotonic()
    assert "JwksFetchFailed" not in emitted_metrics(capsys)
    endpoint.health = misbehaviour

    # When a cold sandbox gets a webhook
    cold = new_sandbox(**settings)
    started = time.monotonic()
    response = send(cold, token())

    # Then it is retried later (503), within moments of the deadline, and the failed fetch is counted
    assert response.status == 503
    assert time.monotonic() - started < 2
    assert "JwksFetchFailed" in emitted_metrics(capsys)
    assert len(stack.records()) == 1  # the warm sandbox's webhook only
    assert endpoint.connections == 2  # one each (a redirect is not followed)
    # And the endpoint is not asked again before the cooldown
    assert send(cold, token()).status == 503
    assert endpoint.connections == 2

    # When the warm sandbox's cached JWKS expires and webhooks keep coming, then one with a kid never seen
    time.sleep(max(cached_at + 1.1 - time.monotonic(), 0))
    statuses = [send(warm, token()).status for _ in range(2)]
    failures = emitted_metrics(capsys)
    stranger = send(warm, token(headers={"kid": "never-seen"}))

    # Then the cached key keeps deciding, the failed refresh is counted, the stranger is retried later (503),
    # and after one failed refresh the endpoint is left alone until the cooldown has passed
    assert statuses == [200, 200]
    assert "JwksFetchFailed" in failures
    assert stranger.status == 503
    assert endpoint.connections == 3


def test_a_jwks_right_at_the_size_cap_is_taken_however_it_is_framed(
    new_sandbox: Callable[..., Sandbox], token: Callable[..., str], jwks: JwksServer
) -> None:
    # Given a JWKS padded to exactly the cap, sent with a Content-Length, until the connection closes, or chunked
    jwks.large_bytes = MAX_JWKS_BYTES
    for framing in ("large", "large-unsized", "large-chunked"):
        jwks.health = framing

        # Then its keys are used
        assert send(new_sandbox(), token()).status == 200, framing


def test_a_jwks_without_a_usable_signing_key_is_a_failed_fetch_not_a_refusal(
    new_sandbox: Callable[..., Sandbox], token: Callable[..., str], jwks: JwksServer, sender: Signer
) -> None:
    # Given a warm sandbox, then PPS's endpoint serving its key without a kid (a broken deploy on their side)
    warm = new_sandbox(JWKS_CACHE_SECONDS="1", JWKS_REFRESH_COOLDOWN_SECONDS=str(COOLDOWN))
    assert send(warm, token()).status == 200
    jwks.keys = [{name: value for name, value in sender.jwk().items() if name != "kid"}]
    time.sleep(1.1)

    # Then the cached key keeps deciding, and a cold sandbox is told to retry, never refused
    assert send(warm, token()).status == 200
    assert send(new_sandbox(), token()).status == 503


def test_a_name_with_several_dead_addresses_is_given_up_within_one_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a JWKS host whose every address swallows connection attempts (full accept backlogs on loopback)
    listeners, fillers = [], []
    for host in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        listener = socket.socket()
        listener.bind((host, 0))
        listener.listen(0)
        listeners.append(listener)
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(listener.getsockname())
            fillers.append(filler)
    addresses = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", listener.getsockname()) for listener in listeners]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: addresses)

    # When the keys are fetched with a one-second deadline
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        fetch_document("https://jwks.example/.well-known/jwks.json", deadline_seconds=1.0, max_bytes=MAX_JWKS_BYTES)

    # Then it gives up within that second, not a second per address
    assert time.monotonic() - started < 1.5
    for held in listeners + fillers:
        held.close()
