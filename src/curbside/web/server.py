"""uvicorn tuning for ``curbside serve``.

With ``--workers`` above 1, uvicorn binds the listening socket itself as
``socket.socket(family=...)``, whose ``proto`` is 0; asyncio then does not recognise accepted
connections as TCP and never sets ``TCP_NODELAY`` on them. Every response written in two parts
(headers, then body) then waits for the client's delayed ACK: about 40 ms per request, which caps
a worker at a few hundred requests per second however fast the app is. This protocol sets
``TCP_NODELAY`` on each connection itself, whatever the worker count.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

#: For ``uvicorn.run(..., http=HTTP_PROTOCOL)``: an import string, so worker processes can load it.
HTTP_PROTOCOL = "curbside.web.server:NoDelayH11Protocol"


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)  # type: ignore[arg-type]
