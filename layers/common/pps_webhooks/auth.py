"""Who may send webhooks: the JWT bearer token rules and the tenant allow-list."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt

from pps_webhooks.errors import Forbidden, RetryLater

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud"]
# A token issued ahead of our clock becomes valid later: the sender is told to retry, at most this far ahead.
MAX_RETRY_AFTER_SECONDS = 3600

# PyJWT's exception types, most specific first, to the fixed reason codes that logs and metrics use.
# Their messages are never logged: some quote parts of the token.
_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token-expired"),
    (jwt.ImmatureSignatureError, "token-not-yet-valid"),
    (jwt.InvalidAudienceError, "wrong-audience"),
    (jwt.InvalidIssuerError, "wrong-issuer"),
    (jwt.MissingRequiredClaimError, "missing-claim"),
    (jwt.InvalidSignatureError, "bad-signature"),
    (jwt.InvalidAlgorithmError, "unsupported-algorithm"),
    (jwt.DecodeError, "malformed-token"),
)


class TokenNotYetValid(RetryLater):
    """A genuine token issued ahead of our clock (clock skew): the sender's retry will be accepted."""

    def __init__(self, claims: Mapping[str, Any], retry_after_seconds: int) -> None:
        super().__init__("token-not-yet-valid", retry_after_seconds=retry_after_seconds)
        self.claims = claims


class SigningKeys(Protocol):
    def signing_key(self, kid: str) -> jwt.PyJWK:
        """The sender's public key for `kid`; raises Forbidden or RetryLater when there is none."""
        ...


@dataclass(frozen=True, slots=True)
class TokenRules:
    issuer: str
    audience: str
    leeway_seconds: int = 30
    max_token_bytes: int = 8192
    required_claims: Mapping[str, Any] = field(default_factory=dict)
    """Claim name -> the value it must have (PPS_REQUIRED_CLAIMS), checked like `iss`."""
    tenant_claim: str = ""
    """When set (PPS_TENANT_CLAIM), X-Pps-Tenant-Id must equal this claim of the token."""


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Forbidden("missing-token")
    return token


def verify_token(token: str, rules: TokenRules, keys: SigningKeys) -> dict[str, Any]:
    """The token's claims when it is an RS256 JWT from the trusted issuer for our audience.

    The key is chosen by `kid` from the issuer's JWKS only; `jku`, `x5u` and `jwk` headers are
    never consulted, so a token cannot bring its own key.
    """
    if len(token) > rules.max_token_bytes:
        raise Forbidden("token-too-large")
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise Forbidden("unsupported-algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Forbidden("missing-kid")
        key = keys.signing_key(kid)
        try:
            claims = _decode(token, key, rules)
        except jwt.ImmatureSignatureError:
            # Issued (iat) or valid (nbf) beyond the leeway ahead of our clock: every other rule must
            # hold, then it is a matter of time, and the sender's retry will be accepted.
            claims = _decode(token, key, rules, verify_time=False)
            _check_required_claims(claims, rules.required_claims)
            raise TokenNotYetValid(claims, _seconds_until_valid(claims, rules)) from None
    except jwt.PyJWTError as error:
        raise Forbidden(_reason(error), type(error).__name__) from None
    except UnicodeError:  # a header value that is no text (a lone surrogate): never a token
        raise Forbidden("malformed-token") from None
    _check_required_claims(claims, rules.required_claims)
    return claims


def _decode(token: str, key: jwt.PyJWK, rules: TokenRules, *, verify_time: bool = True) -> dict[str, Any]:
    return jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        audience=rules.audience,
        issuer=rules.issuer,
        leeway=rules.leeway_seconds,
        options={
            "require": REQUIRED_CLAIMS,
            "verify_signature": True,
            "verify_iat": verify_time,
            "verify_nbf": verify_time,
        },
    )


def _seconds_until_valid(claims: Mapping[str, Any], rules: TokenRules) -> int:
    starts = max(_number(claims.get("iat")), _number(claims.get("nbf")))
    wait = math.ceil(starts - rules.leeway_seconds - time.time())
    return min(max(wait, 1), MAX_RETRY_AFTER_SECONDS)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _check_required_claims(claims: Mapping[str, Any], required: Mapping[str, Any]) -> None:
    """Each required claim holds its value, or (like `aud`) a list holding it; of the same JSON type too, so
    that `true` is not satisfied by `1`."""
    for name, value in required.items():
        if name not in claims:
            raise Forbidden("missing-claim", name)
        actual = claims[name]
        held = actual if isinstance(actual, list) else [actual]
        if not any(type(item) is type(value) and item == value for item in held):
            raise Forbidden("wrong-claim", name)


def authorize_tenant(
    tenant_id: str | None, allowed: Set[str], claims: Mapping[str, Any] | None = None, tenant_claim: str = ""
) -> None:
    """An empty allow-list admits any tenant; a missing tenant is left for validation to report.

    With `tenant_claim`, the token names the tenant it was issued for, and the header must match it.
    """
    if not tenant_id:
        return
    if allowed and tenant_id not in allowed:
        raise Forbidden("tenant-not-allowed")
    if tenant_claim and (claims or {}).get(tenant_claim) != tenant_id:
        raise Forbidden("tenant-mismatch", tenant_claim)


def _reason(error: jwt.PyJWTError) -> str:
    return next((reason for kind, reason in _REASONS if isinstance(error, kind)), "invalid-token")
