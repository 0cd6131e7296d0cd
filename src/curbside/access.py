"""Who is asking, and what they may do. Pure: no HTTP, no SQL.

Every storage call that touches health data takes an :class:`Actor`. Interfaces translate
:class:`NotFound` into 404 and :class:`Forbidden` into 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    """The person (or anonymous visitor) on whose behalf something is done.

    ``ip`` is recorded in the audit log; it is never used to decide access.
    """

    user_id: str | None
    role: Role | None
    ip: str | None = None

    @classmethod
    def anonymous(cls, ip: str | None = None) -> Actor:
        """A visitor who is not signed in: reaches only unowned interviews, by their id."""
        return cls(user_id=None, role=None, ip=ip)

    @classmethod
    def system(cls) -> Actor:
        """The operator at the command line (``curbside users create``...): an admin without an account,
        audited with no user id."""
        return cls(user_id=None, role=Role.ADMIN, ip=None)

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None and self.role is None

    @property
    def is_signed_in(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_doctor(self) -> bool:
        return self.role is Role.DOCTOR

    @property
    def is_patient(self) -> bool:
        return self.role is Role.PATIENT

    def with_ip(self, ip: str | None) -> Actor:
        return Actor(self.user_id, self.role, ip)


class NotFound(LookupError):
    """It does not exist, or the actor may not see it. Interfaces answer 404 for both, so that
    nobody learns that another patient's id exists."""


class Forbidden(PermissionError):
    """The actor is known but their role may not do this at all (403), e.g. a patient opening the
    admin audit log."""
