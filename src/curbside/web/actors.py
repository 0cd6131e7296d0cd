"""Who is making this request: the one place web code turns a request into an :class:`Actor`."""

from __future__ import annotations

from fastapi import Request

from curbside.access import Actor


def actor_of(request: Request) -> Actor:
    """The signed-in actor that the session middleware put on the request, else an anonymous one."""
    actor = getattr(request.state, "actor", None)
    if isinstance(actor, Actor):
        return actor
    return Actor.anonymous(request.client.host if request.client else None)
