"""Streamable HTTP at `/mcp`. The sidecar has no key of its own here: each
request brings the caller's, and requests without one stop at `401`."""
from __future__ import annotations

import contextlib
import logging
import signal
import socket
from typing import Any, Iterator, Mapping

import uvicorn
from mcp.server.lowlevel import Server
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

MCP_PATH = "/mcp"
MISSING_KEY = "Missing API key: send it in the X-Auth-Token header or as Authorization: Bearer <key>"
# Open SSE streams (listen streams, standalone GET streams) would otherwise
# hold a SIGTERM for as long as the client keeps them.
GRACEFUL_SHUTDOWN_SECONDS = 3

log = logging.getLogger("backinstock.mcp")


def request_key(headers: Mapping[str, str]) -> str | None:
    """The API's own rule: X-Auth-Token, else Authorization: Bearer."""
    key = (headers.get("x-auth-token") or "").strip()
    if not key:
        auth = headers.get("authorization") or ""
        if auth[:7].lower() == "bearer ":
            key = auth[7:].strip()
    return key or None


class RequireKey:
    """ASGI middleware: no key, no MCP. Whether the key is good is the API's
    call, made on each tool call; CORS preflights carry no credentials by design."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "OPTIONS" and request_key(Headers(scope=scope)) is None:
            response = JSONResponse({"errors": [MISSING_KEY]}, status_code=401,
                                    headers={"WWW-Authenticate": 'Bearer realm="backinstock"'})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def http_app(server: Server[Any], host: str) -> ASGIApp:
    # The SDK turns on DNS-rebinding protection itself for loopback hosts.
    return RequireKey(server.streamable_http_app(streamable_http_path=MCP_PATH, host=host))


def bind(host: str, port: int) -> socket.socket:
    """Bound here, not by uvicorn, so a taken port is an OSError the CLI
    reports in one line instead of uvicorn's exit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class QuietStopServer(uvicorn.Server):
    """Stops gracefully on SIGINT/SIGTERM and returns, so the command exits 0
    like `backinstock api` (uvicorn would re-raise the signal once stopped)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(server: Server[Any], host: str, port: int) -> None:
    sock = bind(host, port)
    config = uvicorn.Config(http_app(server, host), log_config=None, access_log=False, lifespan="on",
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
    shown = f"[{host}]" if ":" in host else host
    log.info("MCP sidecar on http://%s:%d%s", shown, port, MCP_PATH)
    QuietStopServer(config).run(sockets=[sock])
    log.info("stopped")
