"""Web sessions: idle and absolute expiry on an injected clock, sign-out, password changes."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, text

from curbside.accounts import AccountService, InvalidCredentials, WeakPassword
from curbside.store import Database
from curbside.store.tables import WebSessionRow
from tests.accounts.conftest import PASSWORD, Clock, make_user


def last_seen(database: Database) -> datetime:
    with database.transaction() as session:
        return session.scalars(select(WebSessionRow.last_seen_at)).one()


def test_a_session_ends_after_thirty_idle_minutes(accounts: AccountService, clock: Clock,
                                                  database: Database) -> None:
    make_user(accounts)
    token, _ = accounts.sign_in("ana@example.org", PASSWORD, None, None)
    clock.advance(minutes=30)
    assert accounts.resolve(token) is not None  # exactly 30 idle minutes: still fine
    clock.advance(minutes=30, seconds=1)
    assert accounts.resolve(token) is None
    with database.transaction() as session:  # and it is gone for good
        assert session.execute(text("SELECT COUNT(*) FROM web_sessions")).scalar_one() == 0


def test_activity_keeps_a_session_alive_but_not_past_twelve_hours(accounts: AccountService,
                                                                  clock: Clock) -> None:
    make_user(accounts)
    token, _ = accounts.sign_in("ana@example.org", PASSWORD, None, None)
    for _ in range(35):  # 35 x 20 minutes = 11 h 40 min, each within the idle limit
        clock.advance(minutes=20)
        assert accounts.resolve(token) is not None
    clock.advance(minutes=20)  # 12 h 00 min: the absolute limit, still inside
    assert accounts.resolve(token) is not None
    clock.advance(seconds=1)
    assert accounts.resolve(token) is None


def test_last_seen_is_written_at_most_once_a_minute(accounts: AccountService, clock: Clock,
                                                    database: Database) -> None:
    make_user(accounts)
    token, signed_in = accounts.sign_in("ana@example.org", PASSWORD, None, None)
    clock.advance(seconds=59)
    assert accounts.resolve(token).last_seen_at == signed_in.created_at  # type: ignore[union-attr]
    assert last_seen(database) == signed_in.created_at
    clock.advance(seconds=1)
    assert accounts.resolve(token).last_seen_at == clock.now  # type: ignore[union-attr]
    assert last_seen(database) == clock.now


@pytest.mark.parametrize("token", ["", "x", "a" * 43, "a" * 10_000, "\x00"])
def test_unknown_or_junk_tokens_resolve_to_nothing(accounts: AccountService, token: str) -> None:
    assert accounts.resolve(token) is None
    accounts.sign_out(token)  # and signing them out is harmless


def test_sign_out_ends_one_session_and_sign_out_everywhere_ends_all(accounts: AccountService) -> None:
    user = make_user(accounts)
    first, _ = accounts.sign_in("ana@example.org", PASSWORD, None, None)
    second, _ = accounts.sign_in("ana@example.org", PASSWORD, None, None)
    third, _ = accounts.sign_in("ana@example.org", PASSWORD, None, None)
    accounts.sign_out(first)
    assert accounts.resolve(first) is None
    assert accounts.resolve(second) is not None
    accounts.sign_out_everywhere(user.id)
    assert accounts.resolve(second) is None and accounts.resolve(third) is None


def test_sessions_are_per_user(accounts: AccountService) -> None:
    make_user(accounts, "ana@example.org")
    make_user(accounts, "bo@example.org")
    ana, _ = accounts.sign_in("ana@example.org", PASSWORD, None, None)
    bo, _ = accounts.sign_in("bo@example.org", PASSWORD, None, None)
    assert accounts.resolve(ana).email == "ana@example.org"  # type: ignore[union-attr]
    assert accounts.resolve(bo).email == "bo@example.org"  # type: ignore[union-attr]
    assert accounts.resolve(ana).csrf_token != accounts.resolve(bo).csrf_token  # type: ignore[union-attr]


def test_changing_the_password_ends_the_other_sessions(accounts: AccountService) -> None:
    user = make_user(accounts)
    here, _ = accounts.sign_in("ana@example.org", PASSWORD, None, None)
    elsewhere, _ = accounts.sign_in("ana@example.org", PASSWORD, None, None)
    with pytest.raises(InvalidCredentials):
        accounts.change_password(user.actor(), "not my password", "a brand new passphrase")
    with pytest.raises(WeakPassword):
        accounts.change_password(user.actor(), PASSWORD, "password1234")
    assert accounts.resolve(elsewhere) is not None  # refusals change nothing
    accounts.change_password(user.actor(), PASSWORD, "a brand new passphrase", keep_session=here)
    assert accounts.resolve(here) is not None
    assert accounts.resolve(elsewhere) is None
    with pytest.raises(InvalidCredentials):
        accounts.sign_in("ana@example.org", PASSWORD, None, None)
    accounts.sign_in("ana@example.org", "a brand new passphrase", None, None)
