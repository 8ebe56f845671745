"""What a handler and a job share: the connections, and a shop as a request or a job reads it.
The API and the dispatcher both build a Connections and pass it to the core."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import asyncpg
from redis.asyncio import Redis

from shared_models.chains import Chains
from shared_models.config import Config
from shared_models.rows import select_list
from shared_models.settings import Overrides, Settings, effective, load_effective, sending_settings


class _NotRead:
    """Shop.overrides of a shop read without its settings."""


_NOT_READ = _NotRead()

# The columns of shops a Shop holds, in its fields' order; the dispatcher's
# reads select exactly these (tests/test_typed_rows.py), the API's key lookup
# and storefront reads select them among others.
SHOP_COLUMNS = ("shop_id", "domain", "name", "plan", "currency", "timezone", "storefront_domains",
                "uninstalled_at", "shopify_token")


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
    """A shop as a request or a job reads it: built once per request, per
    chunk of a send job, per webhook event (from_row), never re-read along
    the way. Frozen: everything it is passed to sees the same shop."""

    shop_id: uuid.UUID
    domain: str
    name: str
    plan: str
    currency: str
    timezone: str
    storefront_domains: tuple[str, ...] = ()
    uninstalled_at: dt.datetime | None = None  # app/uninstalled: sends stop until a reinstall
    shopify_token: str | None = field(default=None, repr=False)  # Admin API access (tags, reconciliation)
    # The shop's stored settings overrides when the query that found the shop
    # read them too (the API key lookup does: one round trip less per request;
    # the dispatcher always does: SHOP_WITH_OVERRIDES).
    overrides: Overrides | None | _NotRead = field(default=_NOT_READ, compare=False, repr=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Shop":
        """`row`: a shops row with at least the columns SHOP_COLUMNS names but
        the last two, and `settings_overrides` when the settings were read too."""
        return cls(
            shop_id=row["shop_id"], domain=row["domain"], name=row["name"], plan=row["plan"],
            currency=row["currency"], timezone=row["timezone"],
            storefront_domains=tuple(row["storefront_domains"] or ()),
            uninstalled_at=row.get("uninstalled_at"), shopify_token=row.get("shopify_token"),
            overrides=row.get("settings_overrides", _NOT_READ),
        )

    @cached_property
    def sending_settings(self) -> Settings:
        """The settings a job applies (shared_models.settings.sending_settings),
        computed once per Shop: a chunk or a webhook event reads them from here."""
        if isinstance(self.overrides, _NotRead):
            raise RuntimeError("the shop was read without its settings (read it with read_shop)")
        return sending_settings(self.overrides, self.plan)

    async def effective_settings(self, conn: Any) -> Settings:
        """Merged with the defaults only when asked (most requests never are),
        once per request (a create asks twice). Callers don't mutate it."""
        if isinstance(self.overrides, _NotRead):
            return await load_effective(conn, self.shop_id)
        return self._merged_settings

    @cached_property
    def _merged_settings(self) -> Settings:
        return effective(None if isinstance(self.overrides, _NotRead) else self.overrides)

    @property
    def domains(self) -> tuple[str, ...]:
        return (self.domain, *self.storefront_domains)


# A shop with its stored overrides in one round trip: what a dispatcher job
# reads once (a send job's chunk, a webhook event, a merchant email) and then
# hands to everything it calls, which reads shop.sending_settings, never the
# database again.
SHOP_WITH_OVERRIDES = f"""
SELECT {select_list(SHOP_COLUMNS, "sh")}, st.overrides AS settings_overrides
FROM shops sh LEFT JOIN settings st ON st.shop_id = sh.shop_id
WHERE sh.shop_id = $1
"""


async def read_shop(conn: asyncpg.Connection | asyncpg.Pool, shop_id: uuid.UUID) -> Shop | None:
    row = await conn.fetchrow(SHOP_WITH_OVERRIDES, shop_id)
    return None if row is None else Shop.from_row(row)
