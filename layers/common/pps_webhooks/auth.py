"""Who may send webhooks: the JWT bearer token rules and the tenant allow-list."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from pps_webhooks.errors import Forbidden

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud"]

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
        return jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=rules.audience,
            issuer=rules.issuer,
            leeway=rules.leeway_seconds,
            options={"require": REQUIRED_CLAIMS, "verify_signature": True},
        )
    except jwt.PyJWTError as error:
        raise Forbidden(_reason(error), type(error).__name__) from None


def authorize_tenant(tenant_id: str | None, allowed: Set[str]) -> None:
    """An empty allow-list admits any tenant; a missing tenant is left for validation to report."""
    if allowed and tenant_id and tenant_id not in allowed:
        raise Forbidden("tenant-not-allowed")


def _reason(error: jwt.PyJWTError) -> str:
    return next((reason for kind, reason in _REASONS if isinstance(error, kind)), "invalid-token")
