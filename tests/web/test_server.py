"""``curbside serve``'s uvicorn protocol: TCP_NODELAY on every connection, whatever the workers.

uvicorn's multi-worker listening socket has ``proto`` 0, so asyncio does not set TCP_NODELAY on
accepted connections and each two-part response waits ~40 ms for a delayed ACK. The test accepts a
connection on exactly such a socket and checks that the protocol turns Nagle off.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from curbside.web.server import HTTP_PROTOCOL, NoDelayH11Protocol


class FakeTransport:
    def __init__(self, sock: socket.socket):
        self.sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"socket": self.sock, "sockname": self.sock.getsockname(),
                "peername": self.sock.getpeername()}.get(name, default)

    def is_closing(self) -> bool:
        return False


@pytest.fixture
def accepted() -> Iterator[socket.socket]:
    listener = socket.socket(family=socket.AF_INET)  # as uvicorn binds it with --workers > 1
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    connection, _ = listener.accept()
    yield connection
    for sock in (connection, client, listener):
        sock.close()


async def app(scope: Any, receive: Any, send: Any) -> None:
    """Never called."""


def test_accepted_connections_get_tcp_nodelay(accepted: socket.socket) -> None:
    assert accepted.proto == 0
    assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
    config = Config(app=app, http=HTTP_PROTOCOL)
    config.load()
    assert config.http_protocol_class is NoDelayH11Protocol
    protocol = NoDelayH11Protocol(config=config, server_state=ServerState(), app_state={})
    protocol.connection_made(FakeTransport(accepted))  # type: ignore[arg-type]
    assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
