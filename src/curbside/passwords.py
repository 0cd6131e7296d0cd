"""Password hashing (argon2id) and the password policy (OWASP ASVS 4.0 V2.1).

The hasher uses argon2-cffi's RFC 9106 "low memory" profile (argon2id, 64 MiB, 3 passes, 4 lanes).
Stored hashes carry their parameters, so raising them later upgrades each account's hash at its
next sign-in (:meth:`PasswordHashing.needs_rehash`).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

MIN_LENGTH = 12
MAX_LENGTH = 128


def default_hasher() -> PasswordHasher:
    return PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


class PasswordHashing:
    def __init__(self, hasher: PasswordHasher | None = None):
        self.hasher = hasher or default_hasher()
        # verified against when the account does not exist, so that an unknown email costs
        # as much time as a wrong password (no account enumeration by timing)
        self._dummy = self.hasher.hash("curbside: no such account")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_nobody(self, password: str) -> None:
        """Spend the time of a verification, for an account that does not exist."""
        self.verify(self._dummy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower case."""
    text = resources.files("curbside").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def password_problem(password: str, email: str) -> str | None:
    """Why this password is refused, in a sentence for the person; None when it is acceptable.

    ASVS V2.1: at least 12 characters, at most 128, any characters (spaces and Unicode welcome,
    no composition rules), not a known common password, and not built from the email.
    """
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters: a few unrelated words make a strong password."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.strip() == "":
        return "A password of only spaces is too easy to guess."
    lowered = password.lower()
    if lowered in common_passwords() or " ".join(lowered.split()) in common_passwords():
        return "This password is on the list of the most common passwords; choose another."
    email = email.strip().lower()
    local = email.split("@", 1)[0]
    # the local part alone too, once it is long enough to be more than a common syllable
    if email and (email in lowered or (len(local) >= 5 and local in lowered)):
        return "Your password must not contain your email address."
    if len(set(password)) < 4:
        return "This password repeats too few characters to be hard to guess."
    return None
