"""The account the tools emulate (region, account id, stack name) and the AWS emulator they start: moto's server."""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # moto is imported only to start it: the Lambda-like context and the constants stay light
    from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK_NAME = "pps-webhooks"
LOCAL_RUN_PORT = 4566
"""Where the local run's moto listens by default (LocalStack's port, which AWS tools are often pointed at)."""
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}  # nosec B105 # moto takes any


def free_port(address: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
    return port


def can_bind(address: str, port: int = 0) -> bool:
    """Whether this host has `address` (and `port` is free on it)."""
    with socket.socket() as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def moto_server(address: str = "127.0.0.1", port: int = 0) -> ThreadedMotoServer:
    """moto's server, started, quiet (its web server would log every AWS call)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=address, port=port, verbose=False)
    server.start()
    return server


def endpoint_of(server: ThreadedMotoServer) -> str:
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def use_emulator(endpoint: str) -> None:
    """Point every AWS SDK call of this process (the functions' included) at the emulator, in the stack's region."""
    for name in [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")]:
        del os.environ[name]
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = REGION
    for name, value in CREDENTIALS.items():
        os.environ.setdefault(name, value)
    # A proxy from the environment must not capture the calls to the emulator or a loopback JWKS.
    for name in ("NO_PROXY", "no_proxy"):
        os.environ[name] = ",".join(filter(None, [os.environ.get(name), "127.0.0.1", "localhost"]))
