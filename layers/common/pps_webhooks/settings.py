"""The receiver's settings: read from the environment once per sandbox and validated there."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

SNS_MESSAGE_LIMIT_BYTES = 262_144
MAX_LEEWAY_SECONDS = 60


class SettingsError(ValueError):
    """The environment does not describe a usable receiver (a deployment mistake, not a request's)."""


@dataclass(frozen=True, slots=True)
class ReceiverSettings:
    issuer: str
    audience: str
    jwks_uri: str
    """Where the sender's JWKS is fetched from, unless `jwks` is given."""
    allowed_tenants: frozenset[str]
    idempotency_table: str
    topic_arns: Mapping[str, str]
    unrouted_topic_arn: str
    payload_bucket: str
    retention_days: int = 7
    """The duplicate window: how long a webhook id is remembered (offloaded bodies are kept by S3's lifecycle)."""
    leeway_seconds: int = 30
    jwks_cache_seconds: int = 300
    jwks_refresh_cooldown_seconds: int = 30
    jwks_timeout_seconds: float = 3.0
    max_token_bytes: int = 8192
    offload_threshold_bytes: int = SNS_MESSAGE_LIMIT_BYTES
    jwks: str = ""
    """An inline JWKS document (PPS_JWKS): keys trusted as given, never fetched. For `sam local invoke`."""
    required_claims: Mapping[str, Any] = field(default_factory=dict)
    """PPS_REQUIRED_CLAIMS: claim name -> the value every token must carry."""
    tenant_claim: str = ""
    """PPS_TENANT_CLAIM: the claim that X-Pps-Tenant-Id must equal, when set."""

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 86_400

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ReceiverSettings:
        env = os.environ if environ is None else environ
        issuer = _required(env, "PPS_ISSUER")
        settings = cls(
            issuer=issuer,
            audience=_required(env, "PPS_AUDIENCE"),
            jwks_uri=env.get("PPS_JWKS_URI", "").strip() or default_jwks_uri(issuer),
            allowed_tenants=parse_tenants(env.get("PPS_ALLOWED_TENANTS", "")),
            idempotency_table=_required(env, "IDEMPOTENCY_TABLE"),
            topic_arns=parse_topic_arns(_required(env, "TOPIC_ARNS")),
            unrouted_topic_arn=_required(env, "UNROUTED_TOPIC_ARN"),
            payload_bucket=_required(env, "PAYLOAD_BUCKET"),
            retention_days=_int(env, "RETENTION_DAYS", 7, low=1, high=365),
            leeway_seconds=_int(env, "JWT_LEEWAY_SECONDS", 30, low=0, high=MAX_LEEWAY_SECONDS),
            jwks_cache_seconds=_int(env, "JWKS_CACHE_SECONDS", 300, low=1, high=86_400),
            jwks_refresh_cooldown_seconds=_int(env, "JWKS_REFRESH_COOLDOWN_SECONDS", 30, low=0, high=3_600),
            jwks_timeout_seconds=_float(env, "JWKS_TIMEOUT_SECONDS", 3.0, low=0.1, high=10.0),
            max_token_bytes=_int(env, "MAX_TOKEN_BYTES", 8192, low=512, high=65_536),
            offload_threshold_bytes=_int(
                env, "CLAIM_CHECK_THRESHOLD_BYTES", SNS_MESSAGE_LIMIT_BYTES, low=1, high=SNS_MESSAGE_LIMIT_BYTES
            ),
            jwks=_inline_jwks(env.get("PPS_JWKS", ""), deployed=in_deployed_lambda(env)),
            required_claims=parse_required_claims(env.get("PPS_REQUIRED_CLAIMS", "")),
            tenant_claim=env.get("PPS_TENANT_CLAIM", "").strip(),
        )
        check_jwks_uri(settings.jwks_uri)
        return settings


def in_deployed_lambda(env: Mapping[str, str]) -> bool:
    """In a function that AWS runs: Lambda sets AWS_LAMBDA_FUNCTION_NAME, and SAM CLI adds AWS_SAM_LOCAL locally."""
    return bool(env.get("AWS_LAMBDA_FUNCTION_NAME")) and not env.get("AWS_SAM_LOCAL")


def check_jwks_uri(uri: str) -> None:
    """Keys must come over TLS: plain http only to this machine (tests, the local run)."""
    parts = urlsplit(uri)
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError as error:
        raise SettingsError("PPS_JWKS_URI must be an https URL with a valid port") from error
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and _loopback(parts.hostname or ""):
        return
    raise SettingsError("PPS_JWKS_URI must be an https URL (http only to a loopback address, for tests)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_required_claims(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        claims = json.loads(raw)
    except ValueError as error:
        raise SettingsError("PPS_REQUIRED_CLAIMS must be a JSON object") from error
    if not isinstance(claims, dict) or not all(
        name and isinstance(value, str | int | float | bool) for name, value in claims.items()
    ):
        raise SettingsError('PPS_REQUIRED_CLAIMS must map claim names to values, e.g. {"sub": "pps-webhooks"}')
    return claims


def default_jwks_uri(issuer: str) -> str:
    """The PPS guide's convention: the JWKS lives under the issuer."""
    return f"{issuer.rstrip('/')}/.well-known/jwks.json"


def parse_tenants(raw: str) -> frozenset[str]:
    return frozenset(tenant.strip() for tenant in raw.split(",") if tenant.strip())


def parse_topic_arns(raw: str) -> dict[str, str]:
    try:
        mapping = json.loads(raw)
    except ValueError as error:
        raise SettingsError("TOPIC_ARNS must be a JSON object") from error
    if not isinstance(mapping, dict) or not all(
        isinstance(topic, str) and topic and isinstance(arn, str) and arn.startswith("arn:")
        for topic, arn in mapping.items()
    ):
        raise SettingsError('TOPIC_ARNS must map each X-Pps-Topic to a topic ARN, e.g. {"orders/placed": "arn:..."}')
    return mapping


def _inline_jwks(raw: str, *, deployed: bool) -> str:
    if not raw.strip():
        return ""
    if deployed:  # keys given inline never rotate and trust whoever set them: for local runs only
        raise SettingsError("PPS_JWKS is for local runs only: a deployed receiver fetches keys from PPS_JWKS_URI")
    try:
        document = json.loads(raw)
    except ValueError as error:
        raise SettingsError("PPS_JWKS must be a JWKS JSON document") from error
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list) or not document["keys"]:
        raise SettingsError('PPS_JWKS must be a JWKS JSON document: {"keys": [...]}')
    return raw


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is required")
    return value


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError as error:
        raise SettingsError(f"{name} must be an integer") from error
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError as error:
        raise SettingsError(f"{name} must be a number") from error
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}")
    return value
