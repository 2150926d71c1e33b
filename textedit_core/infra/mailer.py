"""Sending one plain-text email through the configured SMTP server (TEXTEDIT_SMTP_*), if any."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from textedit_core.infra.config import Settings

TIMEOUT_SECONDS = 10


class MailFailed(Exception):
    """The server could not be reached or refused the message."""


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def send(settings: Settings, to: str, subject: str, body: str) -> None:
    assert settings.smtp_host and settings.smtp_from  # configured(); the settings check the pair
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)
    except OSError as error:  # smtplib's errors are OSErrors too
        raise MailFailed(str(error)) from error
