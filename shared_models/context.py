"""What a handler and a job share: the connections, and a shop as a request or a job reads it.
The API and the dispatcher both build a Connections and pass it to the core."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import asyncpg
from redis.asyncio import Redis

from shared_models.chains import Chains
from shared_models.config import Config
from shared_models.settings import effective, load_effective

_NOT_READ = object()


@dataclass
class Connections:
    """Carried by the API app and the dispatcher alike, so both call one core."""

    config: Config
    pool: asyncpg.Pool
    redis: Redis
    queue: Any = None  # arq's ArqRedis, set where jobs are enqueued
    chains: Chains = field(default_factory=Chains)  # how many run_job chains start a send job
    # Group commits of this process by name (api_service/signups/groups.py): made on first use.
    groups: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Shop:
    shop_id: uuid.UUID
    domain: str
    name: str
    plan: str
    currency: str
    timezone: str
    storefront_domains: tuple[str, ...] = ()
    # The shop's stored settings overrides when the query that found the shop
    # read them too (the API key lookup does: one round trip less per request).
    overrides: Any = field(default=_NOT_READ, compare=False, repr=False)

    @classmethod
    def from_row(cls, row: Any) -> "Shop":
        return cls(
            shop_id=row["shop_id"], domain=row["domain"], name=row["name"], plan=row["plan"],
            currency=row["currency"], timezone=row["timezone"],
            storefront_domains=tuple(row["storefront_domains"] or ()),
            overrides=row.get("settings_overrides", _NOT_READ),
        )

    async def effective_settings(self, conn: Any) -> dict[str, Any]:
        """Merged with the defaults only when asked (most requests never are),
        once per request (a create asks twice). Callers don't mutate it."""
        if self.overrides is _NOT_READ:
            return await load_effective(conn, self.shop_id)
        return self._merged_settings

    @cached_property
    def _merged_settings(self) -> dict[str, Any]:
        return effective(self.overrides)

    @property
    def domains(self) -> tuple[str, ...]:
        return (self.domain, *self.storefront_domains)


