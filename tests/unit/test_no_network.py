import socket

import pytest
from pytest_socket import SocketBlockedError


def test_a_unit_test_cannot_open_a_network_connection_even_on_loopback() -> None:
    with pytest.raises(SocketBlockedError), pytest.warns(UserWarning, match="tried to use socket"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
