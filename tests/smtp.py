"""A real SMTP server for tests (aiosmtpd on a free 127.0.0.1 port) that keeps what it receives.

Mail is never mocked: the code under test talks SMTP to this server, and tests read the messages.
"""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Inbox:
    """Every message the server received, with its envelope recipients in ``X-Envelope-To``."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.received = threading.Event()

    # aiosmtpd looks the handler up by this name
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        self.received.set()
        return "250 OK"

    def to(self, address: str) -> list[str]:
        """The subjects of the mail sent to ``address``, in order."""
        return [str(m["Subject"]) for m in self.messages if m["X-Envelope-To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
