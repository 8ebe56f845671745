"""The groups of settings that have a section of their own in Config: each field
is one environment variable, declared with its default and rule (rules.py)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from shared_models.config.rules import Var, choice, integer, number, setting, text, url

# Rates are tokens per second, bursts the bucket's size; both must be positive.
RATE = {"above": True}


@dataclass(frozen=True)
class Bucket:
    per_second: float
    burst: int


@dataclass(frozen=True)
class Limits:
    """Token buckets (api_service.ratelimit) of the traffic anyone can send."""

    # Storefront signup (POST /api/v1/intents.json): a busy shop's storefront;
    # one visitor's browser; one person signing up for several variants, then about one a minute.
    storefront_shop_rate: float = number("STOREFRONT_SHOP_RATE_PER_SECOND", 20.0, **RATE)
    storefront_shop_burst: int = integer("STOREFRONT_SHOP_RATE_BURST", 200, 1)
    storefront_address_rate: float = number("STOREFRONT_ADDRESS_RATE_PER_SECOND", 1.0, **RATE)
    storefront_address_burst: int = integer("STOREFRONT_ADDRESS_RATE_BURST", 20, 1)
    storefront_contact_rate: float = number("STOREFRONT_CONTACT_RATE_PER_SECOND", 0.02, **RATE)
    storefront_contact_burst: int = integer("STOREFRONT_CONTACT_RATE_BURST", 10, 1)
    # Shopify delivers a busy shop's inventory bursts from a few addresses shared
    # by many shops: generous per shop and address. A mistyped key is retried a
    # few times; a scan of keys is not.
    webhook_shop_rate: float = number("WEBHOOK_SHOP_RATE_PER_SECOND", 50.0, **RATE)
    webhook_shop_burst: int = integer("WEBHOOK_SHOP_RATE_BURST", 1000, 1)
    webhook_address_rate: float = number("WEBHOOK_ADDRESS_RATE_PER_SECOND", 200.0, **RATE)
    webhook_address_burst: int = integer("WEBHOOK_ADDRESS_RATE_BURST", 4000, 1)
    key_failure_rate: float = number("KEY_FAILURE_RATE_PER_SECOND", 0.2, **RATE)
    key_failure_burst: int = integer("KEY_FAILURE_RATE_BURST", 20, 1)

    def bucket(self, scope: str) -> Bucket:
        """`scope`: storefront_shop, storefront_address, …, key_failure."""
        return Bucket(getattr(self, f"{scope}_rate"), getattr(self, f"{scope}_burst"))


@dataclass(frozen=True)
class Dispatch:
    """How the dispatcher sends (dispatcher.runtime.Tuning adds what only code sets);
    chunk_size and parallel_chains also shape the chains the API starts (shared_models.chains)."""

    # A chunk's lease on its targets (extended every third of it while it sends);
    # a dead worker's targets are taken over when it lapses.
    lease_seconds: float = number("DISPATCH_LEASE_SECONDS", 20.0, above=True)
    # How often one worker looks for lost work, and how long a job may go
    # without a heartbeat before it is enqueued again.
    sweep_seconds: float = number("DISPATCH_SWEEP_SECONDS", 10.0, above=True)
    stale_seconds: float = number("DISPATCH_STALE_SECONDS", 20.0, above=True)
    # Targets per claim (one arq job, then shops take turns), and chains per job
    # so that several workers share a big restock.
    chunk_size: int = integer("DISPATCH_CHUNK_SIZE", 200, 1)
    parallel_chains: int = integer("DISPATCH_PARALLEL_CHAINS", 2, 1)
    # Provider calls in flight per chunk; outcomes written together (fewer,
    # larger writes for fast providers).
    send_concurrency: int = integer("DISPATCH_SEND_CONCURRENCY", 16, 1)
    outcome_batch: int = integer("DISPATCH_OUTCOME_BATCH", 100, 1)
    # Transient failures: attempt rows before giving up, and the backoff base (doubled per attempt).
    max_attempts: int = integer("DISPATCH_MAX_ATTEMPTS", 3, 1)
    retry_delay: float = number("DISPATCH_RETRY_DELAY", 0.5, above=True)
    # How often one worker looks for due reminders, and folds report deltas into the rollups.
    reminder_seconds: float = number("DISPATCH_REMINDER_SECONDS", 300.0, above=True)
    fold_seconds: float = number("DISPATCH_FOLD_SECONDS", 2.0, above=True)


@dataclass(frozen=True)
class DispatcherProcess:
    """What only a `backinstock dispatcher` process has: its metrics endpoint and
    how long it waits for a lost Redis before exiting 1."""

    metrics_host: str = text("DISPATCHER_METRICS_HOST", "127.0.0.1")
    metrics_port: int = integer("DISPATCHER_METRICS_PORT", 9100, 0, 65535)  # 0: no metrics endpoint
    redis_grace_seconds: float = number("DISPATCHER_REDIS_GRACE_SECONDS", 60.0, 0.1, 86400)


@dataclass(frozen=True)
class Logs:
    # None: json, or text for a person at a terminal (`backinstock dev`, commands on the dev data).
    format: str | None = choice("LOG_FORMAT", None, ("json", "text"), shown="`json`")
    level: int = setting(Var("LOG_LEVEL", "level", shown="`INFO`"), logging.INFO)

    def format_for(self, development: bool) -> str:
        return self.format or ("text" if development else "json")


@dataclass(frozen=True)
class Mcp:
    """The MCP sidecar (mcp_sidecar.config takes what it needs from here)."""

    # The API's root; the key its calls use over stdio (over HTTP each request brings one).
    api_url: str | None = url("BACKINSTOCK_API_URL", None, ("http", "https"), shown="—")
    api_key: str | None = text("BACKINSTOCK_API_KEY", None, shown="—")
    # How often /help is re-read, and the limit on each API call.
    refresh_seconds: float = number("BACKINSTOCK_MCP_REFRESH_SECONDS", 30.0, above=True)
    timeout_seconds: float = number("BACKINSTOCK_MCP_TIMEOUT_SECONDS", 30.0, above=True)
