"""What a handler needs: the core's connections and shop (shared_models.context),
and one call's inputs."""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web

from shared_models.context import Connections, Shop

__all__ = ["CONNECTIONS", "Call", "Connections", "Reply", "Shop"]


@dataclass
class Call:
    """One action invocation, independent of HTTP so v1 and jobs can reuse cores."""

    conns: Connections
    shop: Shop
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    request: web.Request | None = None
    body_errors: dict[str, list[str]] = field(default_factory=dict)
    request_id: str | None = None  # stored on the jobs a call starts (the dispatcher logs it)
    output_format: str = "json"  # one of the action's declared formats (api_service/negotiation.py)
    # For Action.coalesced: the principal (api_service.auth.Principal) the call
    # was authorised with, possibly from the key cache; how to look it up again
    # when the write finds it stale; the Idempotency-Key its write claims (idempotency.Pending).
    principal: Any = None
    reauthorize: Callable[[], Awaitable[Any]] | None = None
    idempotency: Any = None

    @property
    def pool(self) -> asyncpg.Pool:
        return self.conns.pool


@dataclass
class Reply:
    body: Any
    status: int = 200
    headers: dict[str, str] | None = None


CONNECTIONS = web.AppKey("connections", Connections)
