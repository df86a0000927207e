"""The development signing key (events/dev-signing-key.pem): committed on purpose, trusted only locally.

It signs the tokens in events/*.json, `make send` and the local run's example. Only a receiver told to
trust it (events/env.json for `sam local invoke`, or `make run`) accepts them.
"""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from jwt.algorithms import RSAAlgorithm

from tools.devkit.paths import INSTALLED_FROM

KEY_FILE = INSTALLED_FROM / "events" / "dev-signing-key.pem"  # the tools' own key, whichever project they act on
ISSUER = "https://pps-webhooks.invalid/dev"
AUDIENCE = "test-tenant"
KID = "pps-webhooks-dev-key"
# Committed sample events must never rot: their tokens expire on 2100-01-01.
SAMPLE_EXPIRY = 4_102_444_800
SAMPLE_ISSUED_AT = 1_704_067_200  # 2024-01-01


@cache
def private_key() -> RSAPrivateKey:
    key = serialization.load_pem_private_key(KEY_FILE.read_bytes(), password=None)
    assert isinstance(key, RSAPrivateKey)  # nosec B101 # narrows the type: the committed key is RSA
    return key


def jwks() -> dict[str, Any]:
    public = json.loads(RSAAlgorithm.to_jwk(private_key().public_key()))
    return {"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]}


def token(
    *,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
    lifetime: int = 300,
    issued_at: int | None = None,
    expires_at: int | None = None,
) -> str:
    """An RS256 token as PPS signs them, from the development key."""
    now = int(time.time()) if issued_at is None else issued_at
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": "pps-webhooks-dev",
        "iat": now,
        "exp": expires_at if expires_at is not None else now + lifetime,
    }
    return jwt.encode(claims, private_key(), algorithm="RS256", headers={"kid": KID})


def sample_token() -> str:
    """The token of the sample events: issued 2024-01-01, valid until 2100, so the samples never rot."""
    return token(issued_at=SAMPLE_ISSUED_AT, expires_at=SAMPLE_EXPIRY)
