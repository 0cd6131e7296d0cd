"""Sign-up, sign-in, lock-out and timing, on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import statistics
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from curbside.access import Actor, Forbidden, Role
from curbside.accounts import (
    AccountLocked,
    AccountService,
    EmailTaken,
    InvalidCredentials,
    InvalidEmail,
    InvalidInput,
    WeakPassword,
)
from curbside.mail import OutboxMailer
from curbside.passwords import PasswordHashing
from curbside.store import Database
from tests.accounts.conftest import ADMIN, PASSWORD, Clock, audit_rows, make_user


def test_sign_up_normalises_the_email_and_never_stores_the_password(accounts: AccountService,
                                                                    database: Database) -> None:
    user = accounts.sign_up("  Ana@Example.ORG ", PASSWORD, "  Ana   Silva ", Actor.anonymous("10.0.0.1"))
    assert (user.email, user.display_name, user.role) == ("ana@example.org", "Ana Silva", Role.PATIENT)
    with database.transaction() as session:
        stored = session.execute(text("SELECT email, password_hash FROM users")).one()
    assert stored.email == "ana@example.org"
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash


def test_an_email_has_one_account_whatever_its_case(accounts: AccountService) -> None:
    make_user(accounts, "ana@example.org")
    with pytest.raises(EmailTaken) as caught:
        accounts.sign_up("ANA@example.org", PASSWORD, "Other", Actor.anonymous())
    assert caught.value.code == "email_taken" and caught.value.status == 409


@pytest.mark.parametrize(("email", "password", "name", "error"), [
    ("not-an-email", PASSWORD, "Ana", InvalidEmail),
    ("a@b", PASSWORD, "Ana", InvalidEmail),
    ("ana @example.org", PASSWORD, "Ana", InvalidEmail),
    ("ana@example.org", "short", "Ana", WeakPassword),
    ("ana@example.org", "password1234", "Ana", WeakPassword),
    ("ana@example.org", PASSWORD, "   ", InvalidInput),
    ("ana@example.org", PASSWORD, "x" * 101, InvalidInput),
    ("ana@example.org", PASSWORD, "Ana\x00", InvalidInput),
])
def test_bad_sign_ups_are_refused_and_store_nothing(accounts: AccountService, database: Database,
                                                    email: str, password: str, name: str,
                                                    error: type[Exception]) -> None:
    with pytest.raises(error):
        accounts.sign_up(email, password, name, Actor.anonymous())
    with database.transaction() as session:
        assert session.execute(text("SELECT COUNT(*) FROM users")).scalar_one() == 0


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.ADMIN])
def test_only_admins_create_doctors_and_admins(accounts: AccountService, role: Role) -> None:
    patient = make_user(accounts, "pat@example.org")
    for actor in (Actor.anonymous(), patient.actor()):
        with pytest.raises(Forbidden):
            accounts.sign_up("doc@example.org", PASSWORD, "Doc", actor, role=role)
    admin = make_user(accounts, "boss@example.org", Role.ADMIN)
    created = accounts.sign_up("doc@example.org", PASSWORD, "Doc", admin.actor(), role=role)
    assert created.role is role


def test_sign_in_returns_a_token_whose_hash_alone_is_stored(accounts: AccountService,
                                                            database: Database) -> None:
    user = make_user(accounts)
    token, session = accounts.sign_in("ANA@example.org", PASSWORD, "10.0.0.7", "pytest")
    assert len(token) >= 43 and session.user_id == user.id and session.role is Role.PATIENT
    assert session.actor("10.0.0.7") == Actor(user.id, Role.PATIENT, "10.0.0.7")
    with database.transaction() as session_:
        row = session_.execute(text("SELECT * FROM web_sessions")).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(v) for v in row}
    assert (row.ip, row.user_agent) == ("10.0.0.7", "pytest")
    assert accounts.resolve(token) is not None


def test_wrong_password_and_unknown_email_get_the_same_answer(accounts: AccountService) -> None:
    make_user(accounts)
    with pytest.raises(InvalidCredentials) as wrong:
        accounts.sign_in("ana@example.org", "not the password", None, None)
    with pytest.raises(InvalidCredentials) as unknown:
        accounts.sign_in("nobody@example.org", "not the password", None, None)
    with pytest.raises(InvalidCredentials) as junk:
        accounts.sign_in("not an email", "x", None, None)
    assert wrong.value.message == unknown.value.message == junk.value.message
    assert wrong.value.code == unknown.value.code == "invalid_credentials"


def test_five_failures_lock_the_account_for_fifteen_minutes(accounts: AccountService, clock: Clock,
                                                            database: Database) -> None:
    make_user(accounts)
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            accounts.sign_in("ana@example.org", "wrong password", "10.0.0.9", None)
    with pytest.raises(AccountLocked):  # the fifth
        accounts.sign_in("ana@example.org", "wrong password", "10.0.0.9", None)
    with pytest.raises(AccountLocked):  # even the right password, while locked
        accounts.sign_in("ana@example.org", PASSWORD, "10.0.0.9", None)
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(AccountLocked):
        accounts.sign_in("ana@example.org", PASSWORD, "10.0.0.9", None)
    clock.advance(seconds=2)
    accounts.sign_in("ana@example.org", PASSWORD, "10.0.0.9", None)
    outcomes = [r["outcome"] for r in audit_rows(database) if r["action"] == "account.sign_in"]
    assert outcomes == ["failed"] * 4 + ["locked"] * 3 + ["ok"]


def test_a_success_resets_the_failure_count(accounts: AccountService) -> None:
    make_user(accounts)
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            accounts.sign_in("ana@example.org", "wrong password", None, None)
    accounts.sign_in("ana@example.org", PASSWORD, None, None)
    for _ in range(4):  # four more failures: not yet five in a row
        with pytest.raises(InvalidCredentials):
            accounts.sign_in("ana@example.org", "wrong password", None, None)


def test_sign_in_rehashes_a_password_stored_with_weaker_parameters(accounts: AccountService,
                                                                   database: Database, clock: Clock,
                                                                   tmp_path: Path) -> None:
    make_user(accounts)  # stored with the cheap test parameters

    def stored_hash() -> str:
        with database.transaction() as session:
            return str(session.execute(text("SELECT password_hash FROM users")).scalar_one())

    before = stored_hash()
    assert "m=8," in before
    upgraded = AccountService(database, OutboxMailer(tmp_path, "x@example.org"), clock=clock)
    upgraded.sign_in("ana@example.org", PASSWORD, None, None)
    after = stored_hash()
    assert after.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    upgraded.sign_in("ana@example.org", PASSWORD, None, None)  # the new hash verifies
    assert stored_hash() == after  # and is not rewritten again


@pytest.mark.slow
def test_an_unknown_email_takes_as_long_as_a_wrong_password(database: Database, clock: Clock,
                                                            tmp_path: Path) -> None:
    """Timing must not tell which emails have accounts: both paths run one argon2 verification."""
    accounts = AccountService(database, OutboxMailer(tmp_path, "x@example.org"),
                              hashing=PasswordHashing(), clock=clock)
    make_user(accounts)

    def seconds(email: str) -> float:
        start = time.perf_counter()
        with pytest.raises(InvalidCredentials):
            accounts.sign_in(email, "wrong password", None, None)
        return time.perf_counter() - start

    known, unknown = [], []
    for _ in range(4):  # fewer than five: the account must not lock meanwhile
        known.append(seconds("ana@example.org"))
        unknown.append(seconds("nobody@example.org"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.6 < ratio < 1.6, (known, unknown)
    assert statistics.median(unknown) > 0.02  # a real hash was computed


def test_the_operator_actor_is_an_admin_without_an_account() -> None:
    assert ADMIN.is_admin and ADMIN.user_id is None and not ADMIN.is_anonymous
    assert Actor.anonymous("1.2.3.4").is_anonymous
