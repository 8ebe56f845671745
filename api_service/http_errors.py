"""Requests aiohttp's HTTP parser refuses before any middleware runs (a NUL or
control byte in a header, a malformed request line): answered in the error
envelope like every other 4xx. aiohttp's own answer, and its log line, quote
the offending bytes, an API key included; this one quotes nothing.

Slow clients (issue 13 §5): aiohttp waits for a request's head and body as
long as the client likes, so a few hundred half-sent requests hold sockets
and memory. Here a request's head must be complete within HEADER_TIMEOUT_SECONDS
of its first byte (or of the connection), and its body within
BODY_TIMEOUT_SECONDS of the head; else the connection is closed."""
from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from shared_models import jsonutil

log = logging.getLogger("backinstock.api")


class _Handler(RequestHandler):
    _head_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None
    _body: Any = None  # the payload still arriving
    _limits: tuple[float, float] = (0.0, 0.0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._limits = getattr(self._manager, "slow_limits", (0.0, 0.0))
        super().connection_made(transport)
        self._arm_head()

    def data_received(self, data: bytes) -> None:
        if (self._body is None or self._body.is_eof()) and self._head_timer is None:
            self._arm_head()  # the first bytes of another request on this connection
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:  # a head is complete
            self._cancel(self._head_timer)
            self._head_timer = None
            payload = self._messages[-1][1] if self._messages else None
            if payload is not None and not payload.is_eof() and self._limits[1] > 0:
                self._body = payload
                self._cancel(self._body_timer)
                self._body_timer = self._loop.call_later(self._limits[1], self._late, "body")
        if self._body is not None and self._body.is_eof():
            self._cancel(self._body_timer)
            self._body = self._body_timer = None

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel(self._head_timer)
        self._cancel(self._body_timer)
        super().connection_lost(exc)

    def _arm_head(self) -> None:
        if self._limits[0] > 0:
            self._head_timer = self._loop.call_later(self._limits[0], self._late, "headers")

    @staticmethod
    def _cancel(timer: asyncio.TimerHandle | None) -> None:
        if timer is not None:
            timer.cancel()

    def _late(self, part: str) -> None:
        if part == "body" and (self._body is None or self._body.is_eof()):
            return
        log.info("closing a connection: request %s not received within %g s", part,
                 self._limits[0 if part == "headers" else 1])
        self.force_close()

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500:
            return super().handle_error(request, status, exc, message)
        log.info("malformed HTTP request refused: %d %s", status, type(exc).__name__ if exc else "")
        if request.writer.output_size > 0:  # as aiohttp: too late for another answer
            raise ConnectionError("Response is sent already, cannot send the error")
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Bad request"
        resp = web.Response(status=status, body=jsonutil.dumps({"errors": [f"Malformed HTTP request: {reason}"]}),
                            content_type="application/json")
        resp.force_close()
        return resp


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _Handler(self, loop=self._loop, **self._kwargs)


class EnvelopeRunner(web.AppRunner):
    """web.AppRunner whose connections answer parser errors in the envelope
    and are closed when a request's head or body arrives too slowly (0: no limit)."""

    def __init__(self, app: web.Application, *, header_timeout: float = 0.0, body_timeout: float = 0.0,
                 **kwargs: Any):
        super().__init__(app, **kwargs)
        self._slow_limits = (header_timeout, body_timeout)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # built by the app (its request factory, settings); only __call__ differs
        server.slow_limits = self._slow_limits  # type: ignore[attr-defined]
        return server
