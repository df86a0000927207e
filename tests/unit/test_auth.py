"""Who may send webhooks: bearer tokens verified against real RSA keys, and the tenant allow-list."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest

from pps_webhooks.auth import (
    MAX_RETRY_AFTER_SECONDS,
    TokenNotYetValid,
    TokenRules,
    authorize_tenant,
    bearer_token,
    verify_token,
)
from pps_webhooks.errors import Forbidden, RetryLater
from tests.support.tokens import DROP, Signer

ISSUER = "https://pps.example.com"
AUDIENCE = "https://webhooks.example.com/pps"
RULES = TokenRules(ISSUER, AUDIENCE, leeway_seconds=30, max_token_bytes=8192)


class TrustedKeys:
    """The issuer's JWKS, in memory: implements auth.SigningKeys."""

    def __init__(self, *jwks: dict[str, Any]) -> None:
        self._key_set = jwt.PyJWKSet.from_dict({"keys": list(jwks)})

    def signing_key(self, kid: str) -> jwt.PyJWK:
        for key in self._key_set.keys:
            if key.key_id == kid:
                return key
        raise Forbidden("unknown-kid")


@pytest.fixture(scope="module")
def sender() -> Signer:
    """PPS's signing key, the one the JWKS publishes."""
    return Signer("pps-signing-key-1")


@pytest.fixture(scope="module")
def attacker() -> Signer:
    return Signer("attacker-key")


@pytest.fixture(scope="module")
def keys(sender: Signer) -> TrustedKeys:
    return TrustedKeys(sender.jwk())


def token(signer: Signer, **claims: Any) -> str:
    return signer.token(ISSUER, AUDIENCE, claims=claims)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"


def claims_now(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, **overrides}


def refusal(raw_token: str, keys: TrustedKeys, rules: TokenRules = RULES) -> str:
    with pytest.raises(Forbidden) as raised:
        verify_token(raw_token, rules, keys)
    return raised.value.reason


# bearer_token


@pytest.mark.parametrize(
    "authorization",
    ["Bearer abc.def.ghi", "bearer abc.def.ghi", "BEARER abc.def.ghi", "  Bearer   abc.def.ghi  "],
)
def test_the_bearer_scheme_is_case_insensitive(authorization: str) -> None:
    assert bearer_token(authorization) == "abc.def.ghi"


@pytest.mark.parametrize(
    "authorization",
    [None, "", "   ", "Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc.def.ghi", "Bearerabc.def.ghi", "abc"],
)
def test_anything_but_a_bearer_token_is_a_missing_token(authorization: str | None) -> None:
    with pytest.raises(Forbidden) as raised:
        bearer_token(authorization)

    assert raised.value.reason == "missing-token"


# verify_token: what passes


def test_a_token_signed_by_the_issuer_yields_its_claims(sender: Signer, keys: TrustedKeys) -> None:
    claims = verify_token(token(sender, sub="pps-webhooks"), RULES, keys)

    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == "pps-webhooks"


def test_leeway_admits_a_token_that_expired_moments_ago(sender: Signer, keys: TrustedKeys) -> None:
    # Given a token that expired 10 seconds ago
    expired = token(sender, exp=int(time.time()) - 10)

    # Then 30 seconds of leeway admit it, and none refuses it
    assert verify_token(expired, TokenRules(ISSUER, AUDIENCE, leeway_seconds=30), keys)["iss"] == ISSUER
    assert refusal(expired, keys, TokenRules(ISSUER, AUDIENCE, leeway_seconds=0)) == "token-expired"


def test_leeway_admits_a_token_issued_by_a_clock_slightly_ahead(sender: Signer, keys: TrustedKeys) -> None:
    assert verify_token(token(sender, iat=int(time.time()) + 10), RULES, keys)["iss"] == ISSUER


# verify_token: what is refused, and why


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -60}, "token-expired"),
        ({"aud": "https://someone-else.example.com"}, "wrong-audience"),
        ({"aud": ["https://someone-else.example.com"]}, "wrong-audience"),
        ({"iss": "https://evil.example.com"}, "wrong-issuer"),
        ({"iss": "https://pps.example"}, "wrong-issuer"),  # a prefix of the issuer is not the issuer
    ],
    ids=["expired", "audience", "audience-list", "issuer", "issuer-prefix"],
)
def test_a_token_with_wrong_claims_is_refused_with_its_reason(
    sender: Signer, keys: TrustedKeys, claims: dict[str, Any], reason: str
) -> None:
    now = int(time.time())
    relative = {name: now + value if name in ("exp", "nbf", "iat") else value for name, value in claims.items()}

    assert refusal(token(sender, **relative), keys) == reason


# verify_token: what time will settle is retried, not refused


@pytest.mark.parametrize(
    ("claims", "wait"),
    [({"nbf": 120}, 90), ({"iat": 120}, 90), ({"iat": 40, "nbf": 300}, 270), ({"iat": 31}, 1)],
    ids=["nbf-future", "iat-future", "latest-wins", "just-beyond-leeway"],
)
def test_a_genuine_token_from_a_clock_ahead_is_retried_when_it_becomes_valid(
    sender: Signer, keys: TrustedKeys, claims: dict[str, int], wait: int
) -> None:
    now = int(time.time())

    with pytest.raises(RetryLater) as raised:
        verify_token(token(sender, **{name: now + ahead for name, ahead in claims.items()}), RULES, keys)

    assert raised.value.reason == "token-not-yet-valid"
    assert wait - 2 <= raised.value.retry_after_seconds <= wait  # beyond the 30 s leeway, to the second


def test_a_token_issued_absurdly_far_ahead_is_retried_within_an_hour(sender: Signer, keys: TrustedKeys) -> None:
    with pytest.raises(RetryLater) as raised:
        verify_token(token(sender, iat=int(time.time()) + 10 * 86_400), RULES, keys)

    assert raised.value.retry_after_seconds == MAX_RETRY_AFTER_SECONDS


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -60}, "token-expired"),
        ({"aud": "https://someone-else.example.com"}, "wrong-audience"),
        ({"iss": "https://evil.example.com"}, "wrong-issuer"),
    ],
)
def test_a_token_from_a_clock_ahead_that_is_wrong_otherwise_is_refused(
    sender: Signer, keys: TrustedKeys, claims: dict[str, Any], reason: str
) -> None:
    now = int(time.time())
    relative = {name: now + value if name == "exp" else value for name, value in claims.items()}

    assert refusal(token(sender, iat=now + 120, **relative), keys) == reason


def test_a_forged_token_from_a_clock_ahead_is_refused_not_retried(attacker: Signer, keys: TrustedKeys) -> None:
    forged = attacker.token(
        ISSUER, AUDIENCE, claims={"iat": int(time.time()) + 120}, headers={"kid": "pps-signing-key-1"}
    )

    assert refusal(forged, keys) == "bad-signature"


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud"])
def test_a_token_without_a_required_claim_is_refused(sender: Signer, keys: TrustedKeys, claim: str) -> None:
    assert refusal(token(sender, **{claim: DROP}), keys) == "missing-claim"


def test_a_token_signed_by_another_key_under_a_trusted_kid_is_refused(
    sender: Signer, attacker: Signer, keys: TrustedKeys
) -> None:
    forged = attacker.token(ISSUER, AUDIENCE, headers={"kid": sender.kid})

    assert refusal(forged, keys) == "bad-signature"


def test_a_token_with_an_unknown_kid_is_refused(attacker: Signer, keys: TrustedKeys) -> None:
    assert refusal(token(attacker), keys) == "unknown-kid"


def test_a_token_cannot_bring_its_own_key(sender: Signer, attacker: Signer, keys: TrustedKeys) -> None:
    # Given a token signed by the attacker, embedding the attacker's key and pointing at the attacker's JWKS
    forged = attacker.token(
        ISSUER,
        AUDIENCE,
        headers={"kid": sender.kid, "jwk": attacker.jwk(), "jku": "https://attacker.example/jwks.json"},
    )

    # Then it is verified against the trusted key only
    assert refusal(forged, keys) == "bad-signature"


def test_key_url_headers_are_ignored_on_a_genuine_token(sender: Signer, attacker: Signer, keys: TrustedKeys) -> None:
    genuine = sender.token(
        ISSUER,
        AUDIENCE,
        headers={
            "jku": "https://attacker.example/jwks.json",
            "x5u": "https://attacker.example/cert.pem",
            "jwk": attacker.jwk(),
        },
    )

    assert verify_token(genuine, RULES, keys)["iss"] == ISSUER


def test_an_unsigned_alg_none_token_is_refused(sender: Signer, keys: TrustedKeys) -> None:
    none_token = unsigned({"alg": "none", "typ": "JWT", "kid": sender.kid}, claims_now()) + "."

    assert refusal(none_token, keys) == "unsupported-algorithm"


def test_an_hs256_token_keyed_with_the_public_key_is_refused(sender: Signer, keys: TrustedKeys) -> None:
    # Given the classic confusion attack: HMAC with the (public) PEM as the shared secret
    signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": sender.kid}, claims_now())
    signature = hmac.new(sender.public_pem(), signing_input.encode(), hashlib.sha256).digest()

    assert refusal(f"{signing_input}.{b64url(signature)}", keys) == "unsupported-algorithm"


def test_another_rsa_algorithm_is_refused(sender: Signer, keys: TrustedKeys) -> None:
    rs512 = jwt.encode(claims_now(), sender.private_key, algorithm="RS512", headers={"kid": sender.kid})

    assert refusal(rs512, keys) == "unsupported-algorithm"


@pytest.mark.parametrize("kid", [DROP, ""], ids=["absent", "empty"])
def test_a_token_without_a_kid_is_refused(sender: Signer, keys: TrustedKeys, kid: Any) -> None:
    assert refusal(sender.token(ISSUER, AUDIENCE, headers={"kid": kid}), keys) == "missing-kid"


@pytest.mark.parametrize("garbage", ["abc.def", "abc", "a.b.c", "...", "eyJhbGciOiJSUzI1NiJ9.e30"])
def test_a_malformed_token_is_refused(keys: TrustedKeys, garbage: str) -> None:
    assert refusal(garbage, keys) == "malformed-token"


@pytest.mark.parametrize("text", ["abc.\udc80.def", "\ud800"])
def test_a_token_that_is_no_text_is_refused_as_malformed(keys: TrustedKeys, text: str) -> None:
    assert refusal(text, keys) == "malformed-token"


def test_a_token_over_the_size_bound_is_refused_before_it_is_parsed(keys: TrustedKeys) -> None:
    rules = TokenRules(ISSUER, AUDIENCE, max_token_bytes=512)

    assert refusal("a" * 513, keys, rules) == "token-too-large"
    assert refusal("a" * 512, keys, rules) == "malformed-token"


def test_a_genuine_token_over_the_size_bound_is_refused(sender: Signer, keys: TrustedKeys) -> None:
    genuine = token(sender)
    rules = TokenRules(ISSUER, AUDIENCE, max_token_bytes=len(genuine) - 1)

    assert refusal(genuine, keys, rules) == "token-too-large"
    assert verify_token(genuine, TokenRules(ISSUER, AUDIENCE, max_token_bytes=len(genuine)), keys)["iss"] == ISSUER


# authorize_tenant


def test_an_empty_allow_list_admits_every_tenant() -> None:
    authorize_tenant("OU1243", frozenset())


def test_a_listed_tenant_is_admitted() -> None:
    authorize_tenant("OU1243", frozenset({"OU7", "OU1243"}))


@pytest.mark.parametrize("tenant", ["OU9999", "ou1243", "OU1243 "])
def test_an_unlisted_tenant_is_refused(tenant: str) -> None:
    with pytest.raises(Forbidden) as raised:
        authorize_tenant(tenant, frozenset({"OU1243"}))

    assert raised.value.reason == "tenant-not-allowed"


@pytest.mark.parametrize("tenant", [None, ""])
def test_a_missing_tenant_is_left_for_validation_to_report(tenant: str | None) -> None:
    authorize_tenant(tenant, frozenset({"OU1243"}))


@pytest.mark.parametrize("tenant", [None, ""])
def test_a_missing_tenant_is_left_for_validation_even_when_bound_to_a_claim(tenant: str | None) -> None:
    authorize_tenant(tenant, frozenset(), {"tenant": "OU1243"}, "tenant")


# PPS_REQUIRED_CLAIMS and PPS_TENANT_CLAIM


def required(**claims: Any) -> TokenRules:
    return TokenRules(ISSUER, AUDIENCE, required_claims=claims)


def test_a_token_with_every_required_claim_passes(sender: Signer, keys: TrustedKeys) -> None:
    genuine = token(sender, sub="pps-webhooks", env="prod")

    assert verify_token(genuine, required(sub="pps-webhooks", env="prod"), keys)["env"] == "prod"


def test_a_required_claim_can_be_one_of_a_list_like_aud(sender: Signer, keys: TrustedKeys) -> None:
    assert verify_token(token(sender, groups=["a", "pps"]), required(groups="pps"), keys)["groups"] == ["a", "pps"]


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"role": "subscriber"}, "wrong-claim"),
        ({"role": DROP}, "missing-claim"),
        ({"role": 7}, "wrong-claim"),
        ({"role": ["subscriber"]}, "wrong-claim"),
    ],
    ids=["wrong", "missing", "other-type", "list-without-it"],
)
def test_a_token_without_a_required_claim_value_is_refused(
    sender: Signer, keys: TrustedKeys, claims: dict[str, Any], reason: str
) -> None:
    assert refusal(token(sender, **claims), keys, required(role="publisher")) == reason


def test_a_token_from_a_clock_ahead_without_a_required_claim_is_refused(sender: Signer, keys: TrustedKeys) -> None:
    early = token(sender, iat=int(time.time()) + 120, sub="someone-else")

    assert refusal(early, keys, required(sub="pps-webhooks")) == "wrong-claim"


def test_a_token_from_a_clock_ahead_carries_its_claims_for_the_tenant_check(sender: Signer, keys: TrustedKeys) -> None:
    with pytest.raises(TokenNotYetValid) as raised:
        verify_token(token(sender, iat=int(time.time()) + 120, tenant="OU1243"), RULES, keys)

    assert raised.value.claims["tenant"] == "OU1243"


def test_a_tenant_bound_to_a_claim_must_match_it() -> None:
    authorize_tenant("OU1243", frozenset(), {"tenant": "OU1243"}, "tenant")


@pytest.mark.parametrize("claims", [{"tenant": "OU9999"}, {}, {"tenant": ["OU1243"]}, {"tenant": "ou1243"}])
def test_a_tenant_that_does_not_match_its_claim_is_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(Forbidden) as raised:
        authorize_tenant("OU1243", frozenset(), claims, "tenant")

    assert raised.value.reason == "tenant-mismatch"


@pytest.mark.parametrize(("required_value", "carried"), [(True, 1), (1, True), (1, 1.0), ("1", 1)])
def test_a_required_claim_must_have_the_same_json_type(
    sender: Signer, keys: TrustedKeys, required_value: Any, carried: Any
) -> None:
    assert refusal(token(sender, admin=carried), keys, required(admin=required_value)) == "wrong-claim"
