"""Unit tests are pure decisions: any attempt to reach the network (even loopback) fails the test."""

from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    disable_socket(allow_unix_socket=True)  # a Unix socket pair is how asyncio wakes itself, not a network
    yield
    enable_socket()
