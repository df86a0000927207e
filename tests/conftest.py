"""Every test runs with fake AWS credentials: nothing here may ever reach a real account.

The fixtures the integration tests and the deploy rehearsal share: one moto server, the fault proxy in front of
it, PPS's signing key and a JWKS on loopback that publishes it.
"""

import os
from collections.abc import Iterator

import pytest

from tests.support.aws_proxy import AwsProxy
from tests.support.jwks_server import JwksServer
from tests.support.stack import reset_moto
from tests.support.tokens import Signer
from tools.devkit.emulator import endpoint_of, moto_server

for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = moto_server()
    endpoint = endpoint_of(server)
    reset_moto(endpoint)  # moto's state is per process: start from none, whatever ran before in this one
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def aws_proxy(moto_endpoint: str) -> Iterator[AwsProxy]:
    proxy = AwsProxy.in_front_of(moto_endpoint)
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def sender() -> Signer:
    """PPS's signing key, published in its JWKS."""
    return Signer("pps-signing-key-1")


@pytest.fixture(scope="session")
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer().start()
    yield server
    server.stop()
