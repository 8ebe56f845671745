"""After a Redis call timed out, skip Redis for a while (issue 13 §5).

A hung Redis (SIGSTOP, a black-holed network) refuses nothing: each call
would wait out its whole timeout, and a request making three calls would take
three timeouts. Once one call timed out, callers skip Redis for COOLDOWN
seconds (rate limits fail open, enqueues leave the work to the PostgreSQL
sweep); then the next call tries again."""
from __future__ import annotations

import time
import weakref
from typing import Any

COOLDOWN = 5.0


class Breaker:
    def __init__(self, timeout: float, cooldown: float = COOLDOWN):
        self.timeout = timeout  # for each call guarded by this breaker
        self.cooldown = cooldown
        self.open_until = 0.0

    @property
    def open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + self.cooldown

    def reset(self) -> None:
        self.open_until = 0.0


_BY_CLIENT: "weakref.WeakKeyDictionary[Any, Breaker]" = weakref.WeakKeyDictionary()


FAIL_OPEN_SECONDS = 0.25  # RATE_LIMIT_REDIS_TIMEOUT_SECONDS' default


def for_client(client: Any, timeout: float | None = None) -> Breaker:
    """One breaker per Redis client: every limiter on it learns at once. The
    API sets its timeout when it creates the client."""
    breaker = _BY_CLIENT.get(client)
    if breaker is None:
        breaker = _BY_CLIENT[client] = Breaker(FAIL_OPEN_SECONDS)
    if timeout is not None:
        breaker.timeout = timeout
    return breaker
