"""Account fixtures: a real database on each backend (see tests/store/conftest.py), a clock the
tests move, mail written to a real outbox folder, and cheap argon2 parameters (the default
profile costs 64 MiB and ~0.1 s a hash; tests that are about the profile use it explicitly)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from curbside.access import Actor, Role
from curbside.accounts import AccountService, User
from curbside.mail import OutboxMailer
from curbside.passwords import PasswordHashing
from curbside.store import Database
from tests.store.conftest import database, empty_database, postgres_admin, store  # noqa: F401

PASSWORD = "correct horse battery staple"
ADMIN = Actor.system()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def cheap_hashing() -> PasswordHashing:
    return PasswordHashing(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def accounts(database: Database, clock: Clock, outbox: Path) -> AccountService:  # noqa: F811 (the fixture)
    return AccountService(database, OutboxMailer(outbox, "curbside <no-reply@example.org>"),
                          hashing=cheap_hashing(), clock=clock)


def make_user(accounts: AccountService, email: str = "ana@example.org", role: Role = Role.PATIENT,
              password: str = PASSWORD) -> User:
    return accounts.sign_up(email, password, email.split("@")[0].title(), ADMIN, role=role)


def audit_rows(db: Database) -> list[dict[str, object]]:
    with db.transaction() as session:
        return [dict(row._mapping) for row in session.execute(text("SELECT * FROM audit_log ORDER BY id"))]
