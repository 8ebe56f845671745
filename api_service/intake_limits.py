"""Rate limits of unauthenticated traffic that reaches the database: Shopify
webhooks (per shop domain and per client address, taken before the shop is
looked up) and failed API-key lookups (per client address: asked before the
lookup, charged when it fails). Token buckets in Redis (api_service.ratelimit),
each with its own rate (config.limits: WEBHOOK_*, KEY_FAILURE_*); the buckets fail open."""
from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from aiohttp import web

from api_service.context import CONNECTIONS
from shared_models.errors import TooManyRequests
from api_service.ratelimit import Decision, RateLimiter


def _hashed(text: str) -> str:
    """Request headers are anyone's bytes: hashed into a fixed-size key name."""
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


class IntakeLimiters:
    def __init__(self, limiters: tuple[RateLimiter, RateLimiter, RateLimiter]):
        self._shop, self._address, self._key = limiters

    async def webhook(self, domain: str, remote: str | None) -> None:
        """Before the body is read: the client address's bucket."""
        await _check(self._address, f"webhook:address:{remote or 'unknown'}")

    async def webhook_refused(self, domain: str) -> None:
        """A bad signature naming `domain` costs that domain's bucket; past it, 429.
        Only failures count: the domain header is anyone's to write, so a flood of
        forgeries naming a shop must not starve Shopify's own signed deliveries."""
        await _check(self._shop, f"webhook:shop:{_hashed(domain)}")

    async def before_key_lookup(self, remote: str | None) -> None:
        """429 while the address has no failure left: no lookup at all."""
        await _check(self._key, f"keyfail:{remote or 'unknown'}", cost=0)

    async def key_failed(self, remote: str | None) -> Decision:
        """Counts the failure; the address's bucket is what limits this caller now."""
        return await self._key.hit(f"keyfail:{remote or 'unknown'}")


async def _check(limiter: RateLimiter, bucket: str, cost: int = 1) -> None:
    decision = await limiter.hit(bucket, cost)
    if not decision.allowed:
        raise TooManyRequests("Rate limit exceeded, retry later",
                              headers={"Retry-After": str(decision.retry_after)})


INTAKE_LIMITERS = web.AppKey("intake_limiters", IntakeLimiters)


async def limiters_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs after connections_ctx: the buckets live in the same Redis."""
    conns = app[CONNECTIONS]
    app[INTAKE_LIMITERS] = IntakeLimiters(tuple(  # type: ignore[arg-type]
        RateLimiter(conns.redis, bucket.per_second, bucket.burst)
        for bucket in map(conns.config.limits.bucket, ("webhook_shop", "webhook_address", "key_failure"))))
    yield


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(limiters_ctx)
