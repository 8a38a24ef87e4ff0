"""The e-mail channel: SMTP with STARTTLS, implicit TLS (``ssl``) or neither, optional AUTH.

Each message carries a ``Message-ID`` derived from its idempotency key, so a resend after a
crash is recognisable as the same message -- but SMTP has no idempotency: a worker that dies after
the server accepted the message and before the outbox recorded it sends it again (docs/messages.md).
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from .config import EmailSettings
from .records import DeliveryError, OutgoingMessage, SendResult


_POLICY = policy.SMTP.clone(max_line_length=998)
"""Headers up to RFC 5322's 998 characters unfolded: a long List-Unsubscribe URL stays a plain URL."""


def message_id(idempotency_key: str, sender: str) -> str:
    """The ``Message-ID`` of the message with this idempotency key (stable across retries)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "crmkit.local"
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@{domain}>"


class SmtpChannel:
    """``email``: sends to e-mail addresses through the deployment's SMTP server."""

    kind = "email"
    supports_idempotency = False

    def __init__(self, settings: EmailSettings, name: str = "email") -> None:
        self.name = name
        self.settings = settings

    def tls_context(self) -> ssl.SSLContext:
        """Verifies the server's certificate and host name, against ``ca_file`` when one is set."""
        return ssl.create_default_context(cafile=self.settings.ca_file)

    def build(self, message: OutgoingMessage) -> EmailMessage:
        """The MIME message (plain text, and an HTML alternative when the message has one)."""
        s = self.settings
        mail = EmailMessage(policy=_POLICY)
        mail["From"] = s.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = message_id(message.idempotency_key, s.sender)
        for name, value in message.headers.items():
            mail[name] = value
        mail.set_content(message.body)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def send(self, message: OutgoingMessage) -> SendResult:
        mail = self.build(message)
        s = self.settings
        try:
            if s.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self.tls_context())
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                if s.security == "starttls":
                    client.ehlo()
                    if not client.has_extn("starttls"):
                        raise DeliveryError(f"the SMTP server {s.host}:{s.port} does not offer STARTTLS; "
                                            "nothing is sent in clear (security = \"starttls\")")
                    client.starttls(context=self.tls_context())
                if s.username is not None and s.password is not None:
                    client.login(s.username, s.password)
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise DeliveryError(f"the SMTP server refused {message.to}: {code} {_text(text)}",
                                bounce=500 <= code < 600) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"the SMTP server answered {exc.smtp_code} {_text(exc.smtp_error)}",
                                permanent=500 <= exc.smtp_code < 600 and exc.smtp_code != 530) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"the SMTP server {s.host}:{s.port}'s certificate is not trusted: "
                                f"{exc.verify_message or exc}") from None
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            raise DeliveryError(f"cannot reach the SMTP server {s.host}:{s.port}: {exc}") from None
        return SendResult(provider_id=str(mail["Message-ID"]), status="sent")


def _text(value: bytes | str) -> str:
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))[:300]
