"""A moto server over HTTP behind a fault-injecting proxy, a real JWKS on loopback, real signed tokens,
and the template's resources deployed fresh for every test."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pps_webhooks.observability import logger as receiver_logger
from tests.support.aws_proxy import AwsProxy
from tests.support.jwks_server import JwksServer
from tests.support.receiver import RECEIVER, Sandbox
from tests.support.stack import Deployment, deploy
from tests.support.tokens import AUDIENCE, Signer


@pytest.fixture(scope="session")
def attacker() -> Signer:
    """A key nobody trusts."""
    return Signer("attacker-key")


@pytest.fixture
def jwks(jwks_server: JwksServer, sender: Signer) -> JwksServer:
    jwks_server.reset([sender.jwk()])
    return jwks_server


@pytest.fixture
def stack(moto_endpoint: str, aws_proxy: AwsProxy, jwks: JwksServer) -> Deployment:
    deployment = deploy(moto_endpoint, {"PpsIssuer": jwks.issuer, "PpsAudience": AUDIENCE})
    aws_proxy.reset()
    return deployment


@pytest.fixture
def new_sandbox(monkeypatch: pytest.MonkeyPatch, stack: Deployment, aws_proxy: AwsProxy) -> Callable[..., Sandbox]:
    """A fresh Lambda sandbox of a function (the receiver unless named), with the template's environment
    (overridable) and AWS behind the proxy."""

    def make(function: str = RECEIVER, **overrides: str) -> Sandbox:
        for name, value in {**sandbox_environment(stack, aws_proxy, function), **overrides}.items():
            monkeypatch.setenv(name, value)
        return Sandbox(function)

    return make


def sandbox_environment(stack: Deployment, aws_proxy: AwsProxy, function: str = RECEIVER) -> dict[str, str]:
    return {**stack.environment(function), "AWS_ENDPOINT_URL": aws_proxy.url}


@pytest.fixture
def sandbox(new_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return new_sandbox()


@pytest.fixture
def token(sender: Signer, stack: Deployment) -> Callable[..., str]:
    """A valid token from PPS for this deployment; keyword arguments as for Signer.token."""
    environment = stack.environment()

    def make(**options: Any) -> str:
        return sender.token(environment["PPS_ISSUER"], environment["PPS_AUDIENCE"], **options)

    return make


@pytest.fixture
def logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The receiver's structured log lines, parsed."""
    handler = receiver_logger.registered_handler
    stream = io.StringIO()
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    handler.setStream(previous)  # type: ignore[attr-defined]
