"""The hand-over mark: a send's `sending` row is committed just before its
provider call starts, never ahead of it.

At most once needs the mark durable before the call: a worker killed after
the call started must leave a row that says so (its outcome is unknown, it is
never resent), and a worker killed before must leave nothing, so that the
live workers send it. Writing each mark alone would cost a transaction per
send; instead calls about to start (their concurrency slot and rate-limit
token in hand) queue here, and one transaction opens every queued row at
once (group commit): while it commits, the next calls queue for the next one.
Under load a transaction covers about as many calls as are in flight; a
slow provider pays one round trip per call, which its own latency dwarfs."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from dispatcher.attempts import Attempt, Chunk, drop_unsent, open_attempts
from dispatcher.runtime import Runtime

log = logging.getLogger("backinstock.dispatcher")

Row = tuple[Any, int, int]  # (signup, batch, attempt number)


class HandOver:
    def __init__(self, rt: Runtime, chunk: Chunk):
        self.rt, self.chunk = rt, chunk
        self.queued: list[tuple[Row, asyncio.Future]] = []
        self.writer: asyncio.Task | None = None

    async def open(self, row: Row) -> Attempt | None:
        """The committed attempt, to hand to the provider now; None if it is
        not to be sent (another run of the chunk has it, or the plan ran out:
        recorded as blocked/plan_limit)."""
        waiter = asyncio.get_running_loop().create_future()
        self.queued.append((row, waiter))
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._write())
        return await waiter

    async def _write(self) -> None:
        while self.queued:
            group, self.queued = self.queued, []
            try:
                opened = await open_attempts(self.rt, self.chunk, [row for row, _ in group])
            except Exception as exc:
                for _, waiter in group:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            by_key = {(a.signup["signup_id"], a.attempt): a for a in opened}
            abandoned = []
            for (signup, _batch, number), waiter in group:
                attempt = by_key.get((signup["signup_id"], number))
                if waiter.cancelled():  # its sender was cancelled while the row was written
                    if attempt is not None:
                        abandoned.append(attempt)
                else:
                    waiter.set_result(attempt)
            if abandoned:
                try:
                    await drop_unsent(self.rt.conns.pool, self.chunk, abandoned)
                except Exception:
                    log.exception("could not drop %d rows never handed over", len(abandoned))
