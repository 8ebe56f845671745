"""Email over SMTP (aiosmtplib): one reused connection per provider, guarded by a lock.

The SMTP dialogue is driven step by step (MAIL, RCPT, DATA) rather than through
send_message, because what a failure means depends on where it happened: before
DATA nothing went out (retry), after DATA the message may have (never retry).
"""
from __future__ import annotations

import asyncio
import email.errors
import email.policy
import logging
import re
import uuid
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from dispatcher.channels.base import (
    Delivered,
    Message,
    PermanentError,
    ProviderError,
    TransientError,
    UnknownOutcome,
)

log = logging.getLogger("backinstock.providers.smtp")

TIMEOUT_SECONDS = 30.0
_LINE_BREAKS = re.compile(r"[\r\n]+")
# Enhanced status codes (RFC 3463) that say the mailbox itself is bad: a hard
# bounce. Policy (5.7.x), system (5.3.x) and network (5.4.x) refusals are about
# us or the server, and must not unsubscribe the customer.
_HARD_BOUNCE_CODES = (550, 551, 553)
_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


class SmtpUrlError(ValueError):
    """SMTP_URL is not smtp://[user:pass@]host[:port] or smtps://…, or MAIL_FROM is not an address."""


def is_hard_bounce(code: int, text: str) -> bool:
    """A RCPT refusal that means the address does not (or no longer) exist."""
    if code not in _HARD_BOUNCE_CODES:
        return False
    enhanced = _ENHANCED.match(text or "")
    if enhanced is None:
        return True  # a bare 550/551/553 on RCPT: mailbox unavailable
    subject, detail = enhanced.group(2), enhanced.group(3)
    return subject == "1" or (subject == "2" and detail == "1")  # 5.1.x address, 5.2.1 disabled


def _one_line(value: str) -> str:
    # Header values never carry line breaks (header injection).
    return _LINE_BREAKS.sub(" ", value).strip()


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "backinstock.local"


def build_email(message: Message, mail_from: str, message_id: str) -> EmailMessage:
    """The MIME message: text/plain, plus text/html as multipart/alternative when given."""
    default_name, from_addr = parseaddr(mail_from)
    utf8 = not (message.to.isascii() and from_addr.isascii())
    msg = EmailMessage(policy=email.policy.SMTPUTF8 if utf8 else email.policy.SMTP)
    display_name = _one_line(message.from_name or default_name or "")
    msg["From"] = Address(display_name=display_name, addr_spec=from_addr)
    msg["To"] = message.to
    if message.reply_to:
        msg["Reply-To"] = _one_line(message.reply_to)
    msg["Subject"] = _one_line(message.subject or "")
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id
    # RFC 3834: an automatic message; stops vacation auto-replies to our sender.
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in message.headers.items():
        name = _one_line(name)
        del msg[name]  # a message's own header replaces ours, never duplicates it
        msg[name] = _one_line(value)
    msg.set_content(message.text)
    if message.html:
        msg.add_alternative(message.html, subtype="html")
    return msg


def _by_code(code: int, what: str, text: str) -> ProviderError:
    if 400 <= code < 500:
        return TransientError(f"SMTP {code} on {what}: {text}")
    return PermanentError(f"SMTP {code} on {what}: {text}")


class SmtpProvider:
    name = "smtp"

    def __init__(self, url: str, mail_from: str, *, timeout: float = TIMEOUT_SECONDS,
                 local_hostname: str | None = None):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SmtpUrlError("SMTP_URL must look like smtp://user:pass@host:port or smtps://…")
        implicit_tls = parts.scheme == "smtps"
        self._mail_from = mail_from
        self._envelope_from = parseaddr(mail_from)[1]
        if "@" not in self._envelope_from:
            raise SmtpUrlError(f"MAIL_FROM is not an email address: {mail_from!r}")
        self._settings = {
            "hostname": parts.hostname,
            "port": parts.port or (465 if implicit_tls else 25),
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "use_tls": implicit_tls,
            # smtp://: upgrade with STARTTLS when the server offers it, plain otherwise.
            "start_tls": False if implicit_tls else None,
            "timeout": timeout,
            "local_hostname": local_hostname,  # None: the host's FQDN
        }
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:  # never show the password
        return f"SmtpProvider(host={self._settings['hostname']!r}, port={self._settings['port']!r})"

    async def send(self, message: Message) -> Delivered:
        message_id = f"<{message.reference or uuid.uuid4().hex}@{_domain(self._envelope_from)}>"
        try:
            raw = build_email(message, self._mail_from, message_id).as_bytes()
        except (ValueError, TypeError, email.errors.MessageError) as exc:
            raise PermanentError(f"could not build the email: {exc}") from None
        async with self._lock:
            try:
                client = await self._envelope(message.to)
                await self._data(client, raw)
            except asyncio.CancelledError:
                # A reply may still be on its way: never reuse a connection mid-dialogue.
                self._drop()
                raise
        return Delivered(self.name, message_id)

    async def _data(self, client: aiosmtplib.SMTP, raw: bytes) -> None:
        try:
            await client.data(raw)
        except aiosmtplib.SMTPDataError as exc:
            await self._reset(client)
            raise _by_code(exc.code, "DATA", exc.message) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            # DATA went out; the final reply did not come back.
            self._drop()
            raise UnknownOutcome(f"SMTP connection lost after DATA: {type(exc).__name__}: {exc}") from None

    async def _envelope(self, recipient: str) -> aiosmtplib.SMTP:
        """MAIL and RCPT on a live connection. A reused connection the server has
        closed meanwhile is replaced once: nothing was sent yet, so that is safe."""
        for attempt in (1, 2):
            client, reused = await self._connection()
            try:
                await self._mail_rcpt(client, recipient)
                return client
            except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
                self._drop()
                if reused and attempt == 1:
                    continue
                raise TransientError(f"SMTP connection lost before DATA: {exc}") from None
            except aiosmtplib.SMTPResponseException as exc:  # e.g. EHLO refused
                self._drop()
                raise _by_code(exc.code, "EHLO/HELO", exc.message) from None
            except aiosmtplib.SMTPException as exc:
                self._drop()
                raise TransientError(f"SMTP error before DATA: {exc}") from None
        raise AssertionError("unreachable")

    async def _mail_rcpt(self, client: aiosmtplib.SMTP, recipient: str) -> None:
        utf8 = not (recipient.isascii() and self._envelope_from.isascii())
        options: list[str] = []
        if utf8:
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()  # learn the extensions before choosing
            if not client.supports_extension("smtputf8"):
                await self._reset(client)
                raise PermanentError("SMTP server does not support SMTPUTF8 for a non-ASCII address")
            options = ["SMTPUTF8"]
        encoding = "utf-8" if utf8 else "ascii"
        try:
            await client.mail(self._envelope_from, options=options, encoding=encoding)
        except aiosmtplib.SMTPSenderRefused as exc:
            await self._reset(client)
            raise _by_code(exc.code, "MAIL FROM", exc.message) from None
        try:
            await client.rcpt(recipient, encoding=encoding)
        except aiosmtplib.SMTPRecipientRefused as exc:
            await self._reset(client)
            if 500 <= exc.code < 600:
                raise PermanentError(f"SMTP {exc.code} on RCPT: {exc.message}",
                                     unsubscribe=is_hard_bounce(exc.code, exc.message)) from None
            raise _by_code(exc.code, "RCPT", exc.message) from None

    async def _connection(self) -> tuple[aiosmtplib.SMTP, bool]:
        """(the connection, whether it was reused). Called under the lock."""
        if self._client is not None and self._client.is_connected:
            return self._client, True
        client = aiosmtplib.SMTP(**self._settings)
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            # Our credentials, not the recipient: transient until the operator fixes them.
            raise TransientError(f"SMTP login refused ({exc.code})") from None
        except aiosmtplib.SMTPResponseException as exc:
            raise TransientError(f"SMTP server refused the connection: {exc.code} {exc.message}") from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise TransientError(f"SMTP server unreachable: {type(exc).__name__}: {exc}") from None
        self._client = client
        return client, False

    async def _reset(self, client: aiosmtplib.SMTP) -> None:
        """End a failed transaction so the connection can carry the next message."""
        if not client.is_connected:
            self._drop()
            return
        try:
            await client.rset()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def close(self) -> None:
        async with self._lock:
            client, self._client = self._client, None
            if client is None or not client.is_connected:
                return
            try:
                await client.quit(timeout=5)
            except (TimeoutError, aiosmtplib.SMTPException, OSError):
                client.close()
