"""Outgoing mail: a ``Mailer`` protocol, an SMTP mailer, and an outbox folder for development."""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from curbside.settings import Settings

log = logging.getLogger(__name__)


class Mailer(Protocol):
    def send(self, to: str, subject: str, text: str) -> None:
        """Deliver a plain-text message, or raise MailError."""


class MailError(Exception):
    """The message could not be handed over for delivery."""


def _message(sender: str, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="curbside.invalid")
    message.set_content(text)
    return message


class SmtpMailer:
    """Sends through an SMTP server (STARTTLS unless turned off; login when a user is set)."""

    def __init__(self, host: str, port: int, sender: str, *, user: str | None = None,
                 password: str | None = None, starttls: bool = True, timeout: float = 10.0):
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls, self.timeout = user, password, starttls, timeout

    def send(self, to: str, subject: str, text: str) -> None:
        message = _message(self.sender, to, subject, text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"could not send mail through {self.host}:{self.port}: {exc}") from exc


class OutboxMailer:
    """Development: each message becomes an .eml file in a folder, to open with any mail reader."""

    def __init__(self, folder: Path, sender: str):
        self.folder = folder
        self.sender = sender
        self._announced = False

    def send(self, to: str, subject: str, text: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{secrets.token_hex(4)}.eml"
        path.write_bytes(bytes(_message(self.sender, to, subject, text)))
        if not self._announced:
            log.warning("no SMTP host set (CURBSIDE_SMTP_HOST): mail is written to %s", self.folder)
            self._announced = True
        log.info("mail to the outbox: %s", path)


def mailer_from_settings(settings: Settings) -> Mailer:
    if settings.smtp_host:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from,
                          user=settings.smtp_user, password=password, starttls=settings.smtp_starttls)
    return OutboxMailer(settings.outbox_dir, settings.mail_from)
