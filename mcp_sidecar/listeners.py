"""Who hears that the tool list changed.

Two protocol eras, two routes: a 2026-07-28 client opens a
`subscriptions/listen` stream and gets `ToolsListChanged` through the bus;
a handshake-era client (up to 2025-11-25) gets a spontaneous
`notifications/tools/list_changed` on its session's standalone channel."""
from __future__ import annotations

import logging
import time

from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp.types.version import MODERN_PROTOCOL_VERSIONS

log = logging.getLogger("backinstock.mcp")

# Like the SDK's streamable-HTTP session idle timeout: a session silent this
# long is gone on the server side too, so it is forgotten here.
SESSION_TTL_SECONDS = 30 * 60
STDIO_CONNECTION = "stdio"


class ToolListListeners:
    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()
        self.listen_handler = ListenHandler(self.bus)
        # Handshake-era connections by transport session id: the SDK gives a
        # handler a per-request session, and any of a connection's sessions
        # reaches its standalone channel.
        self._sessions: dict[str, tuple[ServerSession, float]] = {}

    def remember(self, session: ServerSession, connection_id: str | None) -> None:
        """Called from tools/list: whoever listed the tools wants to hear of changes."""
        if session.protocol_version in MODERN_PROTOCOL_VERSIONS or connection_id is None:
            return  # modern clients listen through the bus; stateless HTTP has no channel
        now = time.monotonic()
        self._sessions[connection_id] = (session, now)
        for key, (_, seen) in list(self._sessions.items()):
            if now - seen > SESSION_TTL_SECONDS:
                del self._sessions[key]

    async def tools_changed(self) -> None:
        await self.bus.publish(ToolsListChanged())
        for session, _ in list(self._sessions.values()):
            # Best effort by the SDK's design: a closed session drops it silently.
            await session.send_tool_list_changed()
        log.info("tool list changed: told %d handshake-era session(s) and the listen streams",
                 len(self._sessions))

    def close(self) -> None:
        self.listen_handler.close()
        self._sessions.clear()
