"""Requests aiohttp's HTTP parser refuses before any middleware runs (a NUL or
control byte in a header, a malformed request line): answered in the error
envelope like every other 4xx. aiohttp's own answer, and its log line, quote
the offending bytes, an API key included; this one quotes nothing."""
from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from shared_models import jsonutil

log = logging.getLogger("backinstock.api")


class _Handler(RequestHandler):
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
    """web.AppRunner whose connections answer parser errors in the envelope."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # built by the app (its request factory, settings); only __call__ differs
        return server
