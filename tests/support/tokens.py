"""Real RS256 keys and signed tokens, as PPS would send them, and the ways attackers would not."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

_DROP = object()
# The audience the tests deploy with: PpsAudience has no default, as PPS fixes one per customer.
AUDIENCE = "https://webhooks.example.com/pps"


class Signer:
    """An RSA key pair with a kid: the sender's signing key, or an attacker's."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def token(
        self,
        issuer: str,
        audience: str,
        *,
        claims: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """A token PPS would send; `claims`/`headers` override (a value of DROP removes the claim)."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": "pps-webhooks",
            "iat": now,
            "exp": now + 300,
            **(claims or {}),
        }
        payload = {name: value for name, value in payload.items() if value is not DROP}
        header = {"kid": self.kid, **(headers or {})}
        header = {name: value for name, value in header.items() if value is not DROP}
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers=header)


DROP: Any = _DROP
