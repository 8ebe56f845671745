"""The MCP server: a low-level `Server` whose tools come from the API's `/help`.

Entry point `main(transport=, host=, port=)`, called by `backinstock mcp`.
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import os
from typing import Any, AsyncIterator

import anyio
import mcp.types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from mcp_sidecar import http_transport
from mcp_sidecar.catalog import Catalog, KeyModes
from mcp_sidecar.client import ApiCallFailed, ApiClient, ApiRefused
from mcp_sidecar.config import SidecarConfig
from mcp_sidecar.listeners import STDIO_CONNECTION, ToolListListeners
from mcp_sidecar.results import error_result, field_messages, reply_result

log = logging.getLogger("backinstock.mcp")

SERVER_NAME = "backinstock"
INSTRUCTIONS = (
    "Tools for the back-in-stock alerts API of one Shopify shop, the one the API key belongs to. "
    "Each tool is one API action; its description and input schema come from the API itself. "
    "A failed call is a result with isError and the API's {\"errors\": [...]} (and \"fields\" for "
    "invalid input), so read it and correct the arguments."
)


def package_version() -> str:
    try:
        return importlib.metadata.version("backinstock")
    except importlib.metadata.PackageNotFoundError:
        return ""


class ToolsServer(Server[Any]):
    """Announces `tools.listChanged` to handshake-era clients too (the SDK's
    streamable-HTTP manager asks for the default options, which say false)."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True), experimental_capabilities, extensions)


class Sidecar:
    """The state behind the handlers: the API client, the tools, who listens."""

    def __init__(self, config: SidecarConfig):
        self.config = config
        self.api = ApiClient(config.api_url, config.timeout_seconds)
        self.catalog = Catalog()
        self.listeners = ToolListListeners()
        # The key /help is polled with: stdio's own, or over HTTP the last
        # caller's key that /help accepted (the list is the same for every shop).
        self._poll_key = config.api_key
        self._refresh_lock = asyncio.Lock()
        self.key_modes = KeyModes()

    def key_for(self, ctx: ServerRequestContext[Any, Any]) -> str | None:
        if ctx.request is not None:  # HTTP: the key of this very request
            return http_transport.request_key(ctx.request.headers)
        return self.config.api_key

    @staticmethod
    def connection_id(ctx: ServerRequestContext[Any, Any]) -> str | None:
        if ctx.request is None:
            return STDIO_CONNECTION
        return ctx.request.headers.get("mcp-session-id")

    async def refresh(self, key: str) -> bool:
        """Re-reads /help; tells the listeners when a loaded list changed.
        Returns whether `key` is read-only. Raises ApiRefused or ApiCallFailed."""
        async with self._refresh_lock:
            body = await self.api.help(key)
            first = not self.catalog.loaded
            changed = self.catalog.replace(body)
            self._poll_key = key
            read_only = self.key_modes.remember(key, body)
        if first:
            log.info("%d tools from %s", len(self.catalog.tools()), self.config.api_url)
        elif changed:
            await self.listeners.tools_changed()
        return read_only

    async def poll(self) -> None:
        """Reads /help now (over stdio) and every refresh_seconds after. In the
        background, so a slow API never holds up a client's handshake."""
        while True:
            key = self._poll_key
            if key is not None:  # over HTTP: once a caller has brought a key
                try:
                    await self.refresh(key)
                except ApiRefused as exc:
                    log.warning("reading /help: %s", exc)
                    if exc.status in (401, 403) and key != self.config.api_key and self._poll_key == key:
                        self._poll_key = None  # that caller's key was revoked: wait for another
                except ApiCallFailed as exc:
                    log.warning("reading /help: %s", exc)
            await asyncio.sleep(self.config.refresh_seconds)

    async def list_tools(self, ctx: ServerRequestContext[Any, Any],
                         params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        """Each listing asks the API with the caller's key: a bad key hears the
        API's 401 here rather than at its first call, and a read-only key is
        offered only what it may call. If the API can't be reached, the last
        list and what was last known of the key stand in."""
        key = self.key_for(ctx)
        if key is None:
            raise MCPError(types.INVALID_REQUEST, http_transport.MISSING_KEY)
        try:
            read_only = await self.refresh(key)
        except ApiRefused as exc:
            if exc.status < 500 or not self.catalog.loaded:  # the key (401), its limit (429): the API's words
                self.key_modes.forget(key)
                raise MCPError(types.INVALID_REQUEST, "; ".join(exc.messages),
                               data={"status": exc.status, "errors": exc.messages}) from None
            read_only = self.key_modes.get(key)
        except ApiCallFailed as exc:
            if not self.catalog.loaded:  # nothing to list yet: the client must hear why
                raise MCPError(types.INTERNAL_ERROR, f"could not read the tools from the API: {exc}") from None
            read_only = self.key_modes.get(key)
        self.listeners.remember(ctx.session, self.connection_id(ctx))
        return types.ListToolsResult(tools=self.catalog.tools(read_only=read_only))

    async def call_tool(self, ctx: ServerRequestContext[Any, Any],
                        params: types.CallToolRequestParams) -> types.CallToolResult:
        key = self.key_for(ctx)
        if key is None:
            return error_result([http_transport.MISSING_KEY])
        spec = self.catalog.get(params.name)
        if spec is None:
            # Perhaps an action newer than the last read of /help.
            try:
                await self.refresh(key)
            except ApiRefused as exc:
                return error_result(exc.messages, status=exc.status)
            except ApiCallFailed as exc:
                return error_result([str(exc)])
            spec = self.catalog.get(params.name)
            if spec is None:
                return error_result([f"Unknown tool {params.name!r}: tools/list names every tool"])
        arguments = params.arguments or {}
        fields = spec.argument_errors(arguments)
        if fields:  # the body of the API's own 422 for the same fields
            return error_result(field_messages(fields), fields, status=422)
        call = spec.http_call(arguments)
        try:
            reply = await self.api.request(call.method, call.path, key, query=call.query, body=call.body)
        except ApiCallFailed as exc:
            return error_result([str(exc)])
        return reply_result(reply)

    @contextlib.asynccontextmanager
    async def lifespan(self, server: Server[Any]) -> AsyncIterator[Sidecar]:
        await self.api.start()
        poller = asyncio.create_task(self.poll())
        try:
            yield self
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            self.listeners.close()
            await self.api.close()


def build_server(sidecar: Sidecar) -> ToolsServer:
    return ToolsServer(
        SERVER_NAME,
        version=package_version(),
        instructions=INSTRUCTIONS,
        lifespan=sidecar.lifespan,
        # Spares the SDK a tools/list round per call on the 2026-07-28 HTTP path.
        get_tool_input_schema=sidecar.catalog.input_schema,
        on_list_tools=sidecar.list_tools,
        on_call_tool=sidecar.call_tool,
        on_subscriptions_listen=sidecar.listeners.listen_handler,
    )


async def serve_stdio(server: ToolsServer) -> None:
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def main(transport: str = "stdio", host: str = "127.0.0.1", port: int = 8090) -> int:
    config = SidecarConfig.from_env(os.environ, needs_key=transport == "stdio")
    server = build_server(Sidecar(config))
    if transport == "stdio":
        anyio.run(serve_stdio, server)
    elif transport == "http":
        http_transport.serve(server, host, port)
    else:
        raise ValueError(f"unknown transport {transport!r}")
    return 0
