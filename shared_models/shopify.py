"""Shopify's Admin GraphQL API: one client for every caller (order tags,
webhook subscriptions, reconciliation).

Shopify limits each app per shop by query cost: a bucket of points
(`maximumAvailable`) refilled at `restoreRate` per second, reported after
every query in `extensions.cost.throttleStatus`. The client keeps the last
status and, before a query, waits until the bucket holds what the previous
query of the same kind cost, so that it slows down before Shopify throttles
it; a `THROTTLED` answer anyway is waited out and retried a few times.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger("backinstock.shopify")

DEFAULT_API_VERSION = "2026-10"
TIMEOUT = aiohttp.ClientTimeout(total=15)
MAX_THROTTLED_RETRIES = 5
# Waits longer than this are not worth holding a worker for: the caller gives up and retries later.
MAX_WAIT_SECONDS = 30.0


def admin_base(configured: str | None, domain: str) -> str:
    """SHOPIFY_ADMIN_API_BASE (may hold `{shop}`, the shop's domain), else https://<domain>."""
    if configured:
        return configured.replace("{shop}", domain).rstrip("/")
    return f"https://{domain}"


def gid(kind: str, legacy_id: int) -> str:
    return f"gid://shopify/{kind}/{legacy_id}"


def legacy_id(global_id: Any) -> int | None:
    """gid://shopify/ProductVariant/123 -> 123 (None when it isn't one)."""
    if not isinstance(global_id, str):
        return None
    tail = global_id.rsplit("/", 1)[-1]
    return int(tail) if tail.isascii() and tail.isdigit() and len(tail) <= 19 else None


class AdminError(Exception):
    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


@dataclass
class Budget:
    """The last throttle status Shopify reported, and when."""
    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 50.0
    at: float = 0.0

    def now_available(self) -> float:
        return min(self.maximum, self.available + (time.monotonic() - self.at) * self.restore_rate)

    def wait_for(self, cost: float) -> float:
        """Seconds until `cost` points are in the bucket."""
        missing = min(cost, self.maximum) - self.now_available()
        return max(0.0, missing / self.restore_rate) if self.restore_rate > 0 else 0.0


class AdminClient:
    """One shop's Admin GraphQL endpoint. `session` is the caller's (shared
    across shops); the budget is per client, i.e. per shop and run."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str, version: str = DEFAULT_API_VERSION):
        self.session = session
        self.url = f"{base}/admin/api/{version}/graphql.json"
        self.token = token
        self.budget = Budget()
        self.costs: dict[str, float] = {}  # last requested cost per operation name
        self.waited = 0.0  # seconds spent waiting for the bucket, for logs and tests

    async def execute(self, name: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Runs one named operation; returns its `data`. Raises AdminError."""
        for attempt in range(MAX_THROTTLED_RETRIES + 1):
            await self._pace(self.costs.get(name, 0.0))
            reply = await self._post(query, variables or {})
            self._observe(name, reply)
            errors = reply.get("errors")
            if errors and _throttled(errors):
                if attempt == MAX_THROTTLED_RETRIES:
                    raise AdminError("Shopify kept throttling the query", retryable=True)
                log.info("Shopify throttled %s, waiting for the bucket to refill", name)
                continue
            if errors:
                raise AdminError(f"GraphQL errors: {errors}"[:500], retryable=False)
            data = reply.get("data")
            if not isinstance(data, dict):
                raise AdminError("GraphQL reply without data", retryable=True)
            return data
        raise AssertionError("unreachable")

    async def _pace(self, cost: float) -> None:
        wait = self.budget.wait_for(cost)
        if wait > MAX_WAIT_SECONDS:
            raise AdminError(f"Shopify's query budget needs {wait:.0f} s to refill", retryable=True)
        if wait > 0:
            self.waited += wait
            await asyncio.sleep(wait)

    async def _post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = {"query": query, "variables": variables}
        try:
            async with self.session.post(self.url, json=body, timeout=TIMEOUT,
                                         headers={"X-Shopify-Access-Token": self.token}) as resp:
                if resp.status == 429 or resp.status >= 500:
                    raise AdminError(f"Shopify answered {resp.status}", retryable=True)
                if resp.status != 200:
                    raise AdminError(f"Shopify answered {resp.status}", retryable=False)
                reply = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise AdminError(f"Shopify unreachable: {exc!r}", retryable=True) from None
        if not isinstance(reply, dict):
            raise AdminError("GraphQL reply is not an object", retryable=True)
        return reply

    def _observe(self, name: str, reply: dict[str, Any]) -> None:
        cost = (reply.get("extensions") or {}).get("cost") if isinstance(reply.get("extensions"), dict) else None
        if not isinstance(cost, dict):
            return
        status = cost.get("throttleStatus") or {}
        try:
            self.budget = Budget(maximum=float(status["maximumAvailable"]),
                                 available=float(status["currentlyAvailable"]),
                                 restore_rate=float(status["restoreRate"]), at=time.monotonic())
        except (KeyError, TypeError, ValueError):
            pass
        requested = cost.get("requestedQueryCost")
        if isinstance(requested, (int, float)):
            self.costs[name] = float(requested)


def _throttled(errors: Any) -> bool:
    return isinstance(errors, list) and any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)
