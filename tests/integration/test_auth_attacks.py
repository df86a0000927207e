"""Every way a forged or broken token is refused: 403, one bland body, nothing written, nothing logged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from tests.support.aws_proxy import AwsProxy
from tests.support.jwks_server import JwksServer
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment
from tests.support.tokens import DROP, Signer
from tools.devkit.events import FORMATS, Format, api_event, pps_headers

Forge = Callable[[Signer, Signer, str, str], str]


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(issuer: str, audience: str) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer, "aud": audience, "iat": now, "exp": now + 300}


def _hs256_with_public_key(pps: Signer, issuer: str, audience: str) -> str:
    """The classic key-confusion forgery (PyJWT itself refuses to make one, so it is made by hand)."""
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': pps.kid})}.{_b64(_claims(issuer, audience))}"
    signature = hmac.new(pps.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


ATTACKS: dict[str, Forge] = {
    "alg none": lambda pps, evil, iss, aud: (
        f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': pps.kid})}.{_b64(_claims(iss, aud))}."
    ),
    "HS256 signed with the public key": lambda pps, evil, iss, aud: _hs256_with_public_key(pps, iss, aud),
    "expired": lambda pps, evil, iss, aud: pps.token(iss, aud, claims={"exp": int(time.time()) - 120}),
    # Ahead of our clock, but wrong in a way time cannot fix: refused, not retried.
    "future iat, foreign key": lambda pps, evil, iss, aud: jwt.encode(
        {**_claims(iss, aud), "iat": int(time.time()) + 600},
        evil.private_key,
        algorithm="RS256",
        headers={"kid": pps.kid},
    ),
    "future nbf, wrong aud": lambda pps, evil, iss, aud: pps.token(
        iss, "other-tenant", claims={"nbf": int(time.time()) + 600}
    ),
    "future iat, expired": lambda pps, evil, iss, aud: pps.token(
        iss, aud, claims={"iat": int(time.time()) + 600, "exp": int(time.time()) - 120}
    ),
    "wrong iss": lambda pps, evil, iss, aud: pps.token("https://securetoken.google.com/other-tenant", aud),
    "wrong aud": lambda pps, evil, iss, aud: pps.token(iss, "other-tenant"),
    "missing exp": lambda pps, evil, iss, aud: pps.token(iss, aud, claims={"exp": DROP}),
    "missing iat": lambda pps, evil, iss, aud: pps.token(iss, aud, claims={"iat": DROP}),
    "no kid": lambda pps, evil, iss, aud: pps.token(iss, aud, headers={"kid": DROP}),
    "foreign key under a known kid": lambda pps, evil, iss, aud: jwt.encode(
        _claims(iss, aud), evil.private_key, algorithm="RS256", headers={"kid": pps.kid}
    ),
    "injected jwk header": lambda pps, evil, iss, aud: jwt.encode(
        _claims(iss, aud), evil.private_key, algorithm="RS256", headers={"kid": pps.kid, "jwk": evil.jwk()}
    ),
    "tampered payload": lambda pps, evil, iss, aud: (
        lambda parts: f"{parts[0]}.{_b64({**_claims(iss, aud), 'sub': 'admin'})}.{parts[2]}"
    )(pps.token(iss, aud).split(".")),
    "garbage": lambda pps, evil, iss, aud: "not-a-jwt",
    "garbage with dots": lambda pps, evil, iss, aud: "eyJ.eyJ.sig",
    "oversized": lambda pps, evil, iss, aud: pps.token(iss, aud, claims={"padding": "x" * 20_000}),
    "empty": lambda pps, evil, iss, aud: "",
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_forged_or_broken_token_is_refused_and_nothing_is_written(
    attack: str,
    fmt: Format,
    sandbox: Sandbox,
    stack: Deployment,
    sender: Signer,
    attacker: Signer,
    aws_proxy: AwsProxy,
    logs: Callable[[], list[dict[str, Any]]],
) -> None:
    environment = stack.environment()
    forged = ATTACKS[attack](sender, attacker, environment["PPS_ISSUER"], environment["PPS_AUDIENCE"])

    response = sandbox.invoke(api_event(fmt, pps_headers(forged)))

    assert response.status == 403
    assert response.raw_body == '{"message":"Forbidden"}'
    assert aws_proxy.calls == []  # no claim: an unauthenticated caller cannot pre-claim a webhook id
    assert stack.records() == []
    assert stack.all_published() == {topic: [] for topic in stack.capture_queues}
    if forged:
        assert forged not in json.dumps(logs())


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_a_genuine_token_from_a_clock_ahead_is_retried_then_accepted(
    claim: str, fmt: Format, new_sandbox: Callable[..., Sandbox], stack: Deployment, sender: Signer
) -> None:
    # Given PPS's clock is 2 s ahead of ours, and no leeway
    sandbox = new_sandbox(JWT_LEEWAY_SECONDS="0")
    environment = stack.environment()
    early = sender.token(environment["PPS_ISSUER"], environment["PPS_AUDIENCE"], claims={claim: int(time.time()) + 2})
    webhook = pps_headers(early)

    # Then the webhook is not refused but retried, with a Retry-After of when it becomes valid; nothing is written
    first = sandbox.invoke(api_event(fmt, webhook))
    assert first.status == 503
    assert 1 <= int(first.headers["Retry-After"]) <= 2
    assert stack.records() == []

    # And PPS's retry, once that time has come, is accepted and published once
    time.sleep(int(first.headers["Retry-After"]) + 0.5)
    assert sandbox.invoke(api_event(fmt, webhook)).body["status"] == "accepted"
    assert len(stack.published("OrdersPlacedTopic")) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_two_authorization_values_are_refused_on_both_fronts(
    fmt: Format, sandbox: Sandbox, stack: Deployment, token: Callable[..., str]
) -> None:
    genuine = token()
    event = api_event(fmt, pps_headers(genuine))
    if fmt == "http":  # the HTTP API joins a repeated header with ","
        event["headers"]["authorization"] = f"Bearer {genuine},Bearer {genuine}"
    else:  # the REST API keeps the last value in headers, all of them in multiValueHeaders
        event["multiValueHeaders"]["Authorization"] = [f"Bearer {token(claims={'sub': 'x'})}", f"Bearer {genuine}"]

    response = sandbox.invoke(event)

    assert response.status == 403
    assert stack.records() == []


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc", "Bearerabc.def.ghi"],
)
def test_a_request_without_a_bearer_token_is_refused(
    authorization: str | None, sandbox: Sandbox, stack: Deployment
) -> None:
    headers = pps_headers(None)
    if authorization is not None:
        headers["Authorization"] = authorization

    response = sandbox.invoke(api_event("http", headers))

    assert response.status == 403
    assert stack.records() == []


@pytest.mark.parametrize("header", ["jku", "x5u"])
def test_a_key_url_in_the_token_is_never_fetched(
    header: str,
    sandbox: Sandbox,
    stack: Deployment,
    sender: Signer,
    attacker: Signer,
    jwks_server: JwksServer,
) -> None:
    # Given an attacker's JWKS (reachable, serving the attacker's key under PPS's kid)
    environment = stack.environment()
    evil_jwks = JwksServer().start()
    try:
        evil_jwks.reset([{**attacker.jwk(), "kid": sender.kid}])
        forged = jwt.encode(
            _claims(environment["PPS_ISSUER"], environment["PPS_AUDIENCE"]),
            attacker.private_key,
            algorithm="RS256",
            headers={"kid": sender.kid, header: evil_jwks.jwks_uri},
        )
        # When a token points at it
        response = sandbox.invoke(api_event("http", pps_headers(forged)))
        # Then it is refused, and the attacker's URL was never asked
        assert response.status == 403
        assert evil_jwks.requests == 0
    finally:
        evil_jwks.stop()
    assert stack.records() == []


def test_a_genuine_token_with_junk_key_headers_is_still_verified_against_the_jwks(
    sandbox: Sandbox, token: Callable[..., str]
) -> None:
    genuine = token(headers={"jku": "https://evil.example/jwks.json", "x5u": "https://evil.example/cert"})
    assert sandbox.invoke(api_event("http", pps_headers(genuine))).status == 200


def test_a_token_within_the_clock_leeway_is_accepted(sandbox: Sandbox, token: Callable[..., str]) -> None:
    just_expired = token(claims={"exp": int(time.time()) - 10})
    slightly_ahead = token(claims={"iat": int(time.time()) + 10, "nbf": int(time.time()) + 10})

    assert sandbox.invoke(api_event("http", pps_headers(just_expired))).status == 200
    assert sandbox.invoke(api_event("http", pps_headers(slightly_ahead))).status == 200


def test_an_unknown_kid_after_a_fresh_jwks_fetch_is_refused(
    sandbox: Sandbox, stack: Deployment, sender: Signer, jwks: JwksServer
) -> None:
    environment = stack.environment()
    stranger = Signer("kid-nobody-published")

    response = sandbox.invoke(
        api_event("http", pps_headers(stranger.token(environment["PPS_ISSUER"], environment["PPS_AUDIENCE"])))
    )

    assert response.status == 403
    assert jwks.requests == 1
    assert stack.records() == []
