"""Rate limits of the storefront signup, which anyone can call: one token
bucket per shop, per client address and per contact (email or phone), each
with its own rate (config.limits: STOREFRONT_*)."""
from __future__ import annotations

import hashlib
import uuid

from aiohttp import web
from redis.asyncio import Redis

from shared_models.errors import TooManyRequests
from api_service.ratelimit import RateLimiter
from shared_models.config import Limits


def contact_key(contact: str) -> str:
    """Hashed: no personal data in Redis key names."""
    return hashlib.sha256(contact.strip().lower().encode()).hexdigest()[:32]


class StorefrontLimiters:
    def __init__(self, redis: Redis, limits: Limits):
        self._shop, self._address, self._contact = (
            RateLimiter(redis, bucket.per_second, bucket.burst)
            for bucket in map(limits.bucket, ("storefront_shop", "storefront_address", "storefront_contact")))

    async def address(self, remote: str | None) -> None:
        await _check(self._address, f"storefront:address:{remote or 'unknown'}")

    async def shop(self, shop_id: uuid.UUID) -> None:
        await _check(self._shop, f"storefront:shop:{shop_id}")

    async def contact(self, shop_id: uuid.UUID, contact: str) -> None:
        await _check(self._contact, f"storefront:contact:{shop_id}:{contact_key(contact)}")


async def _check(limiter: RateLimiter, bucket: str) -> None:
    decision = await limiter.hit(bucket)
    if not decision.allowed:
        raise TooManyRequests("Rate limit exceeded, retry later",
                              headers={"Retry-After": str(decision.retry_after)})


STOREFRONT_LIMITERS = web.AppKey("storefront_limiters", StorefrontLimiters)
