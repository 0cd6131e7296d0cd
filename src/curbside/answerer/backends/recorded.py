"""A chat backend that replays recorded replies: the openai_compatible path without a network.

Tests queue model replies (or exceptions, to play a failing server) and read back the messages the
backend sent, so the prompt, the citation validation, the fallback and the post-check are tested
exactly as they run against a real server.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from curbside.answerer.backends import Backend, BackendError
from curbside.answerer.backends.openai_compatible import ChatBackend


class RecordedBackend(ChatBackend):
    """Replays ``replies`` in order; an exception in the queue is raised instead of replying."""

    name = "recorded"

    def __init__(self, replies: Iterable[str | BaseException] = (),
                 fallback: Backend | None = None) -> None:
        super().__init__(fallback)
        self.replies: deque[str | BaseException] = deque(replies)
        self.requests: list[list[dict[str, str]]] = []

    def queue(self, *replies: str | BaseException) -> None:
        self.replies.extend(replies)

    def complete(self, messages: list[dict[str, str]]) -> str:
        self.requests.append(messages)
        if not self.replies:
            raise BackendError("no recorded reply left")
        reply = self.replies.popleft()
        if isinstance(reply, BaseException):
            raise reply
        return reply
