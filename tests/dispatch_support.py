"""Running real dispatcher workers inside a test, and waiting on the database."""
from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Awaitable, Callable

from dispatcher.runtime import Tuning
from dispatcher.worker import build_worker
from shared_models.config import Config

# Short leases and sweeps so that recovery tests take seconds, not a minute.
FAST = dict(lease_seconds=3.0, sweep_seconds=0.5, stale_seconds=1.0, retry_delay=0.05, chunk_size=50)


@contextlib.asynccontextmanager
async def running_workers(config: Config, n: int = 1, **tuning: Any):
    workers = [build_worker(config, Tuning(**{**FAST, **tuning}), handle_signals=False) for _ in range(n)]
    tasks = [asyncio.create_task(w.main()) for w in workers]
    try:
        yield workers
    finally:
        for w in workers:
            await w.close()
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 20.0, what: str = "condition") -> Any:
    """Polls `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
