"""Local stand-ins for the delivery providers, real servers on 127.0.0.1 with free ports:

- SmtpStandIn: an aiosmtpd SMTP server that records what it accepts and can be
  told to refuse MAIL/RCPT/DATA with any reply, or to drop the connection after
  DATA (before its final reply).
- TwilioStandIn: an aiohttp server for POST /2010-04-01/Accounts/{sid}/Messages.json
  checking Basic auth and recording the form posts; replies are queued.
- PushGatewayStandIn: an aiohttp server recording JSON posts; replies are queued.

Usage: `async with SmtpStandIn() as smtp: ...` (or await start()/stop()).
"""
from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import itertools
import json
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Self
from urllib.parse import quote

from aiohttp import web
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


# --- SMTP ---------------------------------------------------------------------------------

@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)  # type: ignore[return-value]


class _SmtpHandler:
    def __init__(self, owner: SmtpStandIn):
        self.owner = owner

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        if self.owner.mail_reply:
            return self.owner.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if self.owner.rcpt_reply:
            return self.owner.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.owner.drop_after_data:
            # The whole message arrived; vanish before the final reply.
            assert server.transport is not None
            server.transport.abort()
            return "250 OK"  # never reaches the client
        if self.owner.data_reply:
            return self.owner.data_reply
        self.owner.received.append(ReceivedMail(envelope.mail_from or "", list(envelope.rcpt_tos),
                                                bytes(envelope.original_content or b"")))
        return "250 OK: queued"


class SmtpStandIn:
    def __init__(self, *, username: str = "user", password: str = "secret p@ss"):
        self.username = username
        self.password = password
        self.received: list[ReceivedMail] = []
        self.logins: list[tuple[str, str]] = []
        self.mail_reply: str | None = None  # e.g. "451 4.3.0 try later"
        self.rcpt_reply: str | None = None  # e.g. "550 5.1.1 mailbox unavailable"
        self.data_reply: str | None = None  # e.g. "554 5.6.0 content rejected"
        self.drop_after_data = False
        self.connections = 0
        self.port = 0
        self._protocols: list[SMTP] = []
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"smtp://{quote(self.username, safe='')}:{quote(self.password, safe='')}@{HOST}:{self.port}"

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append((login, password))
            ok = (login, password) == (self.username, self.password)
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535
        return AuthResult(success=False, handled=False)

    def _protocol(self) -> SMTP:
        self.connections += 1
        protocol = SMTP(_SmtpHandler(self), hostname="standin.local", auth_require_tls=False,
                        authenticator=self._authenticate, loop=asyncio.get_running_loop())
        self._protocols.append(protocol)
        return protocol

    async def start(self) -> SmtpStandIn:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def close_connections(self) -> None:
        """Drop every open client connection (like a server's idle timeout)."""
        for protocol in self._protocols:
            if protocol.transport is not None:
                protocol.transport.close()
        self._protocols.clear()

    async def stop(self) -> None:
        self.close_connections()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


# --- HTTP stand-ins ---------------------------------------------------------------------------

DROP = "drop"  # close the connection without answering (after reading the request)
TRUNCATE = "truncate"  # send the status and half the body, then close


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded when not bytes
    headers: dict[str, str] = field(default_factory=dict)
    mode: str | None = None  # DROP or TRUNCATE


class _HttpStandIn:
    """An aiohttp server on a free port; replies come from `replies` (FIFO), else default()."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.delay = 0.0  # seconds to wait before each reply (a slow provider)
        self.port = 0
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def default(self, request: web.Request) -> Reply:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self):
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def answer(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        if self.delay:
            await asyncio.sleep(self.delay)
        raw = reply.body if isinstance(reply.body, bytes) else (
            b"" if reply.body is None else json.dumps(reply.body).encode())
        headers = dict(reply.headers)
        if reply.body is not None and not isinstance(reply.body, bytes):
            headers.setdefault("Content-Type", "application/json")
        if reply.mode == DROP:
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=reply.status)
        if reply.mode == TRUNCATE:
            response = web.StreamResponse(status=reply.status, headers=headers)
            response.content_length = len(raw) + 100
            await response.prepare(request)
            await response.write(raw[: max(1, len(raw) // 2)])
            await asyncio.sleep(0.05)
            assert request.transport is not None
            request.transport.abort()
            return response
        return web.Response(status=reply.status, body=raw, headers=headers)

    def next_reply(self, request: web.Request) -> Reply:
        return self.replies.pop(0) if self.replies else self.default(request)


class TwilioStandIn(_HttpStandIn):
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "twilio-token") -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.posts: list[dict[str, str]] = []  # forms received with valid auth
        self.auth_failures = 0
        self._ids = itertools.count(1)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.messages)

    def default(self, request: web.Request) -> Reply:
        sid = f"SM{next(self._ids):032x}"
        return Reply(201, {"sid": sid, "status": "queued"})

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == (self.account_sid, self.auth_token) and request.match_info["sid"] == user

    async def messages(self, request: web.Request) -> web.StreamResponse:
        form = dict(await request.post())
        if not self._authorised(request):
            self.auth_failures += 1
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        self.posts.append({k: str(v) for k, v in form.items()})
        return await self.answer(request, self.next_reply(request))


class PushGatewayStandIn(_HttpStandIn):
    def __init__(self) -> None:
        super().__init__()
        self.posts: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        return self.base_url + "/push"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/push", self.push)

    def default(self, request: web.Request) -> Reply:
        return Reply(200, {"id": f"push-{next(self._ids)}"})

    async def push(self, request: web.Request) -> web.StreamResponse:
        self.posts.append(await request.json())
        self.headers.append(dict(request.headers))
        return await self.answer(request, self.next_reply(request))
