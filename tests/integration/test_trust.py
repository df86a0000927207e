"""Whom a deployment trusts: required claims, a tenant bound to a claim, and keys that only come over TLS."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from pps_webhooks.settings import SettingsError
from tests.support.jwks_server import JwksServer
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment
from tests.support.tokens import DROP
from tools.devkit.events import FORMATS, Format, api_event, pps_headers


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("claims", "status"),
    [({"sub": "pps-webhooks"}, 200), ({"sub": "someone-else"}, 403), ({"sub": DROP}, 403)],
    ids=["carried", "other-value", "absent"],
)
def test_required_claims_are_checked_like_the_issuer(
    fmt: Format,
    claims: dict[str, object],
    status: int,
    new_sandbox: Callable[..., Sandbox],
    token: Callable[..., str],
    stack: Deployment,
) -> None:
    sandbox = new_sandbox(PPS_REQUIRED_CLAIMS=json.dumps({"sub": "pps-webhooks"}))

    response = sandbox.invoke(api_event(fmt, pps_headers(token(claims=claims))))

    assert response.status == status
    assert len(stack.records()) == (1 if status == 200 else 0)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("token_tenant", "header_tenant", "status"),
    [("OU1243", "OU1243", 200), ("OU1243", "OU2000", 403), (DROP, "OU1243", 403)],
    ids=["matches", "another-tenant", "claim-absent"],
)
def test_a_tenant_bound_to_a_claim_must_be_the_tokens(
    fmt: Format,
    token_tenant: object,
    header_tenant: str,
    status: int,
    new_sandbox: Callable[..., Sandbox],
    token: Callable[..., str],
    stack: Deployment,
) -> None:
    # Given a deployment where each token names the tenant it was issued for
    sandbox = new_sandbox(PPS_TENANT_CLAIM="tenant_id")
    headers = pps_headers(token(claims={"tenant_id": token_tenant}), tenant_id=header_tenant)

    # Then a genuine token cannot deliver webhooks of another tenant
    response = sandbox.invoke(api_event(fmt, headers))

    assert response.status == status
    assert len(stack.records()) == (1 if status == 200 else 0)


def test_an_inline_jwks_is_refused_at_cold_start_in_a_deployed_function(
    new_sandbox: Callable[..., Sandbox], jwks: JwksServer
) -> None:
    """A deployed receiver trusting keys given inline would never follow PPS's key rotation: it fails to start,
    API Gateway answers 5xx, and PPS retries until the deployment is fixed."""
    inline = json.dumps({"keys": jwks.keys})

    with pytest.raises(SettingsError, match="PPS_JWKS"):
        new_sandbox(PPS_JWKS=inline, AWS_LAMBDA_FUNCTION_NAME="pps-webhooks-WebhookReceiverFunction-1A2B")


def test_an_inline_jwks_works_under_sam_local(
    new_sandbox: Callable[..., Sandbox], jwks: JwksServer, token: Callable[..., str]
) -> None:
    inline = json.dumps({"keys": jwks.keys})
    sandbox = new_sandbox(PPS_JWKS=inline, AWS_LAMBDA_FUNCTION_NAME="WebhookReceiverFunction", AWS_SAM_LOCAL="true")

    assert sandbox.invoke(api_event("http", pps_headers(token()))).status == 200
    assert jwks.requests == 0  # the inline keys, never fetched


@pytest.mark.parametrize("uri", ["http://pps.example.com/.well-known/jwks.json", "http://10.1.2.3/jwks.json"])
def test_keys_over_plain_http_are_refused_at_cold_start(uri: str, new_sandbox: Callable[..., Sandbox]) -> None:
    with pytest.raises(SettingsError, match="PPS_JWKS_URI must be an https URL"):
        new_sandbox(PPS_JWKS_URI=uri)
