"""Background work the sweep starts at most once per interval across every
worker: the worker that takes the interval's Redis lock runs it (the lock is
kept for the interval, so one run per interval); a worker runs one at a time,
and the sweep that started a run stops it, and waits for it, when the worker
stops. The daily retention run and the Shopify reconciliation pass are two."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from dispatcher.runtime import Runtime
from shared_models.aio import cancel_and_wait


class Periodic:
    def __init__(self, lock: str, interval_ms: Callable[[Runtime], int],
                 run: Callable[[Runtime], Awaitable[None]]):
        """interval_ms ≤ 0: switched off. `run` handles its own failures."""
        self.lock, self.interval_ms, self.run = lock, interval_ms, run
        self.running: dict[int, asyncio.Task[None]] = {}  # by runtime: this worker's run

    async def tick(self, rt: Runtime) -> None:
        """Called on every sweep."""
        interval = self.interval_ms(rt)
        if interval <= 0 or id(rt) in self.running:
            return
        if not await rt.conns.redis.set(self.lock, "1", nx=True, px=interval):
            return
        task = asyncio.create_task(self.run(rt))
        self.running[id(rt)] = task
        task.add_done_callback(lambda _: self.running.pop(id(rt), None))

    async def stop(self, rt: Runtime) -> None:
        task = self.running.get(id(rt))
        if task is not None:
            await cancel_and_wait(task)
