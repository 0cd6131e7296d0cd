"""Password hashing (argon2id, RFC 9106 low-memory profile) and the ASVS password policy."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from curbside.passwords import MAX_LENGTH, MIN_LENGTH, PasswordHashing, common_passwords, password_problem


def test_hashes_are_argon2id_with_the_rfc_9106_low_memory_profile() -> None:
    hashing = PasswordHashing()
    stored = hashing.hash("a long enough passphrase")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert hashing.verify(stored, "a long enough passphrase")
    assert not hashing.verify(stored, "a long enough passphrasE")
    assert not hashing.needs_rehash(stored)


def test_the_same_password_hashes_differently_each_time() -> None:  # salted
    hashing = PasswordHashing(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    assert hashing.hash("same password here") != hashing.hash("same password here")


def test_weaker_or_broken_hashes_need_a_rehash() -> None:
    cheap = PasswordHashing(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)).hash("pw pw pw pw pw")
    hashing = PasswordHashing()
    assert hashing.needs_rehash(cheap)
    assert hashing.verify(cheap, "pw pw pw pw pw")  # still verifies: parameters travel with the hash
    assert hashing.needs_rehash("not a hash")
    assert not hashing.verify("not a hash", "anything")


def test_the_common_password_list_ships_with_the_package() -> None:
    common = common_passwords()
    assert len(common) > 3000
    assert {"password", "123456", "qwertyuiop123", "passwordpassword", "iloveyou1234"} <= common
    assert all(p == p.lower() and not p.startswith("#") for p in common)


@pytest.mark.parametrize(("password", "expected"), [
    ("short pw", f"at least {MIN_LENGTH}"),
    ("x" * (MIN_LENGTH - 1), f"at least {MIN_LENGTH}"),
    ("y" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH}"),
    ("Password12345", "most common"),
    ("QWERTYUIOP123", "most common"),
    (" " * 20, "only spaces"),
    ("ana.silva@example.org is mine", "email"),
    ("ANA.SILVA likes tea", "email"),
    ("abababababababab", "too few"),
])
def test_refused_passwords(password: str, expected: str) -> None:
    problem = password_problem(password, "Ana.Silva@Example.org")
    assert problem is not None and expected in problem


@pytest.mark.parametrize("password", [
    "correct horse battery staple",
    "x" * 4 + "abc" + "7" * 5,  # exactly 12
    "z" * (MAX_LENGTH - 4) + "abcd",  # exactly 128
    "mañana café 東京 ☕ paßwort",  # any Unicode, spaces included
])
def test_accepted_passwords(password: str) -> None:
    assert password_problem(password, "ana@example.org") is None  # "mañana" may contain "ana"
