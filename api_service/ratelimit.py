"""Token bucket per API key (or client address) in Redis, failing open."""
from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared_models import breaker
from shared_models.groups import Coalescer

log = logging.getLogger("backinstock.ratelimit")

# KEYS: buckets; ARGV: rate per second, burst, now (s), then one cost per
# bucket (1; 0 only asks whether a token is there, for limits charged after
# the fact). The buckets of a batch are taken in order, so the same bucket
# twice is charged twice. Returns per bucket {allowed 0/1, tokens left
# (floor), seconds until one token}.
TOKEN_BUCKETS = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local ttl = math.ceil(burst / rate) + 1
local out = {}
for i, key in ipairs(KEYS) do
  local cost = tonumber(ARGV[3 + i])
  local state = redis.call('HMGET', key, 't', 'ts')
  local tokens = tonumber(state[1]) or burst
  local ts = tonumber(state[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
  local allowed = 0
  if tokens >= 1 then
    tokens = tokens - cost
    allowed = 1
  end
  redis.call('HSET', key, 't', tostring(tokens), 'ts', tostring(now))
  redis.call('EXPIRE', key, ttl)
  local wait = 0
  if tokens < 1 then wait = (1 - tokens) / rate end
  out[i] = {allowed, math.floor(tokens), tostring(wait)}
end
return out
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int


class RateLimiter:
    """hit() is batched (group commit, shared_models/groups.py): the hits that
    arrive while one batch is in Redis go together in the next, one script
    call and one round trip for all of them."""

    def __init__(self, redis: Redis, per_second: float, burst: int, *, max_batch: int = 256):
        self.redis = redis
        self.per_second = per_second
        self.burst = burst
        self._script = redis.register_script(TOKEN_BUCKETS)
        self._breaker = breaker.for_client(redis)
        self._batches: Coalescer[tuple[str, int], Decision] = Coalescer(self._hit_many, max_group=max_batch)

    def _open(self) -> Decision:
        return Decision(True, self.burst, self.burst, 0)

    async def hit(self, bucket: str, cost: int = 1) -> Decision:
        if self._breaker.open:  # Redis hung a moment ago: no wait at all
            return self._open()
        return await self._batches.submit((bucket, cost))

    async def _hit_many(self, hits: list[tuple[str, int]]) -> list[Decision]:
        try:
            replies = await asyncio.wait_for(self._script(
                keys=[f"bis:rl:{bucket}" for bucket, _ in hits],
                args=[self.per_second, self.burst, time.time(), *[cost for _, cost in hits]],
            ), self._breaker.timeout)  # a hung Redis refuses nothing: fail open past this
        except (RedisError, OSError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError):
                self._breaker.trip()
            log.warning("rate limiter unavailable, letting %d request(s) through: %s", len(hits), exc)
            return [self._open() for _ in hits]
        return [Decision(bool(allowed), self.burst, int(remaining), max(1, math.ceil(float(wait))))
                for allowed, remaining, wait in replies]
