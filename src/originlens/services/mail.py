"""Outgoing e-mail over SMTP (the creation e-mail: a user's first API key and dashboard password link)."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from originlens.errors import OriginlensError


class MailNotConfiguredError(OriginlensError):
    pass


class MailDeliveryError(OriginlensError):
    pass


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "originlens@localhost"
    timeout_s: float = 15.0


def send(smtp: SmtpSettings, to: str, subject: str, text: str) -> None:
    if not smtp.host:
        raise MailNotConfiguredError("E-mail is not configured on this server (set ORIGINLENS_SMTP_HOST).")
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailDeliveryError(f"The e-mail could not be sent: {exc}") from exc


def creation_email(name: str, public_url: str, api_key: str, password_link: str | None = None) -> tuple[str, str]:
    """The welcome e-mail: the first API key (for programs) and, when given, the one-time link
    that sets the dashboard password (for people)."""
    subject = "Your originlens account"
    base = public_url.rstrip("/")
    dashboard = (
        (
            "To use the dashboard in a browser, choose your password with this link (it works once,\n"
            "and expires in 72 hours):\n\n"
            f"    {password_link}\n\n"
        )
        if password_link
        else ""
    )
    text = (
        f"Hello {name},\n\n"
        f"An account was created for you on {public_url}.\n\n"
        f"{dashboard}"
        f"Your API key (shown only here; keep it secret):\n\n    {api_key}\n\n"
        "Before you can submit media, accept the terms of service:\n\n"
        f"    curl -X POST -H 'X-Api-Key: <your key>' {base}/api/user/accept_terms\n\n"
        "Send the key in the X-Api-Key header of every request.\n"
    )
    return subject, text
