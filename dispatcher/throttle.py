"""Provider throughput caps (SMTP_MAX_PER_SECOND, TWILIO_MAX_PER_SECOND), shared
by every dispatcher worker through one token bucket per provider in Redis.

acquire() reserves the next slot and sleeps until it comes (the bucket may go
negative: each caller is told exactly how long to wait, so nobody polls). If
Redis is unreachable, each process falls back to its own bucket: sends go on,
capped per process instead of globally, and nothing blocks forever.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared_models.config import Config

log = logging.getLogger("backinstock.throttle")

KEY_PREFIX = "bis:throttle:"
REDIS_TIMEOUT_SECONDS = 2.0
_WARN_EVERY_SECONDS = 60.0

# KEYS[1] bucket; ARGV: rate per second, burst. Redis's own clock, so that every
# worker agrees on time. Takes one token (possibly going negative: a reservation)
# and returns the seconds to wait before using it.
RESERVE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate) - 1
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
local wait = 0
if tokens < 0 then wait = -tokens / rate end
redis.call('EXPIRE', KEYS[1], math.ceil(wait + burst / rate) + 1)
return tostring(wait)
"""


@dataclass
class LocalBucket:
    """The same reservation bucket, in process (the fallback)."""

    rate: float
    burst: float
    tokens: float | None = None
    stamp: float = 0.0

    def reserve(self) -> float:
        now = time.monotonic()
        if self.tokens is None:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate) - 1
        self.stamp = now
        return -self.tokens / self.rate if self.tokens < 0 else 0.0


class Throttle:
    def __init__(self, redis: Redis | None, rates: Mapping[str, float]):
        """`rates`: provider name → sends per second; absent or ≤ 0 means unlimited."""
        self._redis = redis
        self._rates = {name: float(rate) for name, rate in rates.items() if rate and rate > 0}
        self._script = redis.register_script(RESERVE) if redis is not None else None
        self._local: dict[str, LocalBucket] = {}
        self._last_warning = 0.0

    @classmethod
    def from_config(cls, redis: Redis | None, config: Config) -> Throttle:
        return cls(redis, {"smtp": config.smtp_max_per_second, "twilio": config.twilio_max_per_second})

    @staticmethod
    def burst_for(rate: float) -> float:
        # One second's worth: 20 sends at 10/s take about a second.
        return max(1.0, rate)

    async def acquire(self, name: str) -> None:
        """Wait until provider `name` may take one more message."""
        rate = self._rates.get(name)
        if rate is None:
            return
        wait = await self._reserve(name, rate)
        if wait > 0:
            await asyncio.sleep(wait)

    async def _reserve(self, name: str, rate: float) -> float:
        burst = self.burst_for(rate)
        if self._script is not None:
            try:
                raw = await asyncio.wait_for(
                    self._script(keys=[KEY_PREFIX + name], args=[rate, burst]), REDIS_TIMEOUT_SECONDS)
                return max(0.0, float(raw))
            except (TimeoutError, RedisError, OSError, ValueError) as exc:
                self._warn(name, exc)
        bucket = self._local.get(name)
        if bucket is None:
            bucket = self._local[name] = LocalBucket(rate, burst)
        return bucket.reserve()

    def _warn(self, name: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning("throttle: Redis unavailable (%s: %s); capping %s per process instead",
                        type(exc).__name__, exc, name)
