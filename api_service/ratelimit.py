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

log = logging.getLogger("backinstock.ratelimit")

# KEYS[1] bucket; ARGV: rate per second, burst, now (s), cost (1; 0 only asks
# whether a token is there, for limits charged after the fact). Returns
# {allowed 0/1, tokens left (floor), seconds until one token}.
TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4] or '1')
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate end
return {allowed, math.floor(tokens), tostring(wait)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int


class RateLimiter:
    def __init__(self, redis: Redis, per_second: float, burst: int):
        self.redis = redis
        self.per_second = per_second
        self.burst = burst
        self._script = redis.register_script(TOKEN_BUCKET)
        self._breaker = breaker.for_client(redis)

    async def hit(self, bucket: str, cost: int = 1) -> Decision:
        if self._breaker.open:  # Redis hung a moment ago: no wait at all
            return Decision(True, self.burst, self.burst, 0)
        try:
            allowed, remaining, wait = await asyncio.wait_for(self._script(
                keys=[f"bis:rl:{bucket}"], args=[self.per_second, self.burst, time.time(), cost]
            ), self._breaker.timeout)  # a hung Redis refuses nothing: fail open past this
        except (RedisError, OSError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError):
                self._breaker.trip()
            log.warning("rate limiter unavailable, letting request through: %s", exc)
            return Decision(True, self.burst, self.burst, 0)
        return Decision(bool(allowed), self.burst, int(remaining), max(1, math.ceil(float(wait))))
