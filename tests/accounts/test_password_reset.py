"""Password reset through a real SMTP server (aiosmtpd on 127.0.0.1): request, read the mail,
follow the link, and every way a token must stop working."""

from __future__ import annotations

import re
from email.message import Message

import pytest
from sqlalchemy import text

from curbside.accounts import AccountService, InvalidCredentials, InvalidToken, WeakPassword
from curbside.mail import MailError, SmtpMailer
from curbside.store import Database
from tests.accounts.conftest import PASSWORD, Clock, cheap_hashing, make_user
from tests.smtp import Inbox, free_port

NEW_PASSWORD = "a fresh and long passphrase"


@pytest.fixture
def accounts(database: Database, clock: Clock, smtp: tuple[Inbox, int]) -> AccountService:
    mailer = SmtpMailer("127.0.0.1", smtp[1], "curbside <no-reply@example.org>", starttls=False)
    return AccountService(database, mailer, hashing=cheap_hashing(), clock=clock)


def link(path: str) -> str:
    return f"https://curbside.example.org/account/reset/{path}"


def token_in(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"https://curbside\.example\.org/account/reset/(\S+)", body.decode())
    assert found, body
    return found.group(1)


def test_reset_by_mail_then_sign_in_with_the_new_password(accounts: AccountService,
                                                          smtp: tuple[Inbox, int]) -> None:
    inbox, _ = smtp
    make_user(accounts, "ana@example.org")
    old_session, _ = accounts.sign_in("ana@example.org", PASSWORD, None, None)

    accounts.request_password_reset("ANA@example.org", "10.0.0.3", link)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "ana@example.org" == message["X-Envelope-To"]
    assert "password" in message["Subject"].lower()
    token = token_in(message)

    accounts.reset_password(token, NEW_PASSWORD)

    assert accounts.resolve(old_session) is None  # every session ended
    with pytest.raises(InvalidCredentials):
        accounts.sign_in("ana@example.org", PASSWORD, None, None)
    accounts.sign_in("ana@example.org", NEW_PASSWORD, None, None)
    with pytest.raises(InvalidToken):  # single use
        accounts.reset_password(token, "yet another passphrase")


def test_unknown_emails_get_no_mail_and_the_same_answer(accounts: AccountService,
                                                        smtp: tuple[Inbox, int]) -> None:
    inbox, _ = smtp
    make_user(accounts, "ana@example.org")
    accounts.request_password_reset("nobody@example.org", None, link)
    accounts.request_password_reset("not an email", None, link)
    assert inbox.messages == []


def test_the_token_expires_after_thirty_minutes(accounts: AccountService, smtp: tuple[Inbox, int],
                                                clock: Clock) -> None:
    make_user(accounts, "ana@example.org")
    accounts.request_password_reset("ana@example.org", None, link)
    clock.advance(minutes=30, seconds=1)
    with pytest.raises(InvalidToken):
        accounts.reset_password(token_in(smtp[0].messages[0]), NEW_PASSWORD)
    accounts.sign_in("ana@example.org", PASSWORD, None, None)  # unchanged


def test_a_weak_new_password_keeps_the_token_usable(accounts: AccountService,
                                                    smtp: tuple[Inbox, int]) -> None:
    make_user(accounts, "ana@example.org")
    accounts.request_password_reset("ana@example.org", None, link)
    token = token_in(smtp[0].messages[0])
    with pytest.raises(WeakPassword):
        accounts.reset_password(token, "password1234")
    accounts.reset_password(token, NEW_PASSWORD)


def test_a_newer_reset_voids_the_older_links_once_used(accounts: AccountService,
                                                       smtp: tuple[Inbox, int]) -> None:
    make_user(accounts, "ana@example.org")
    accounts.request_password_reset("ana@example.org", None, link)
    accounts.request_password_reset("ana@example.org", None, link)
    first, second = (token_in(m) for m in smtp[0].messages)
    assert first != second
    accounts.reset_password(second, NEW_PASSWORD)
    with pytest.raises(InvalidToken):
        accounts.reset_password(first, "yet another passphrase")


@pytest.mark.parametrize("token", ["", "nope", "x" * 5000])
def test_made_up_tokens_are_refused(accounts: AccountService, token: str) -> None:
    with pytest.raises(InvalidToken):
        accounts.reset_password(token, NEW_PASSWORD)


def test_only_the_token_hash_is_stored(accounts: AccountService, smtp: tuple[Inbox, int],
                                       database: Database) -> None:
    make_user(accounts, "ana@example.org")
    accounts.request_password_reset("ana@example.org", None, link)
    token = token_in(smtp[0].messages[0])
    with database.transaction() as session:
        row = session.execute(text("SELECT * FROM password_resets")).one()
    assert token not in {str(value) for value in row}


def test_a_dead_mail_server_does_not_reveal_the_account(database: Database, clock: Clock) -> None:
    dead = SmtpMailer("127.0.0.1", free_port(), "x@example.org", starttls=False, timeout=2)
    with pytest.raises(MailError):
        dead.send("ana@example.org", "subject", "text")
    accounts = AccountService(database, dead, hashing=cheap_hashing(), clock=clock)
    make_user(accounts, "ana@example.org")
    accounts.request_password_reset("ana@example.org", None, link)  # logged, not raised
