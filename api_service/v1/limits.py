"""Rate limits of the storefront signup, which anyone can call: one token
bucket per shop, per client address and per contact (email or phone), each
with its own rate, from the environment."""
from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from shared_models.errors import TooManyRequests
from api_service.ratelimit import RateLimiter
from shared_models.config import MissingConfig


@dataclass(frozen=True)
class Bucket:
    per_second: float
    burst: int


# A busy shop's storefront; one visitor's browser; one person signing up for
# several variants, then about one a minute.
DEFAULTS = {"SHOP": Bucket(20.0, 200), "ADDRESS": Bucket(1.0, 20), "CONTACT": Bucket(0.02, 10)}


def _number(env: Mapping[str, str], name: str, default: float, kind: type) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise MissingConfig(f"{name} (must be a {kind.__name__}, got {raw!r})") from None
    if value <= 0:
        raise MissingConfig(f"{name} (must be positive, got {raw!r})")
    return value


@dataclass(frozen=True)
class StorefrontLimits:
    shop: Bucket
    address: Bucket
    contact: Bucket

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StorefrontLimits:
        """STOREFRONT_{SHOP,ADDRESS,CONTACT}_RATE_PER_SECOND and …_RATE_BURST."""
        env = os.environ if env is None else env
        buckets = {
            scope.lower(): Bucket(_number(env, f"STOREFRONT_{scope}_RATE_PER_SECOND", d.per_second, float),
                                  int(_number(env, f"STOREFRONT_{scope}_RATE_BURST", d.burst, int)))
            for scope, d in DEFAULTS.items()
        }
        return cls(**buckets)


def contact_key(contact: str) -> str:
    """Hashed: no personal data in Redis key names."""
    return hashlib.sha256(contact.strip().lower().encode()).hexdigest()[:32]


class StorefrontLimiters:
    def __init__(self, redis: Redis, limits: StorefrontLimits):
        self.limits = limits
        self._shop = RateLimiter(redis, limits.shop.per_second, limits.shop.burst)
        self._address = RateLimiter(redis, limits.address.per_second, limits.address.burst)
        self._contact = RateLimiter(redis, limits.contact.per_second, limits.contact.burst)

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
