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
slow provider pays one round trip per call, which its own latency dwarfs.
The chains of one job running in one process share a hand-over (joined()),
so that their calls share the writes too: each write costs about as much for
one row as for a hundred (the reports trigger runs once per statement). For
the same reason they share one outcome writer (dispatcher.outcomes)."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator

from dispatcher.attempts import Attempt, Chunk, Queued, drop_unsent, open_attempts
from dispatcher.outcomes import OutcomeWriter
from dispatcher.runtime import Runtime

log = logging.getLogger("backinstock.dispatcher")

# Writes in flight per hand-over. One gives the largest groups: the fan-out
# bench (A/B under shared load) measured 1 > 2 > 4 without a plan limit (a
# shop's limited plan serialises them on its plan_usage row anyway).
MAX_WRITERS = 1
# By (runtime, shop, job, month): the job's chains in this process.
_open: dict[tuple[int, uuid.UUID, uuid.UUID, dt.date], "HandOver"] = {}


@contextlib.asynccontextmanager
async def joined(rt: Runtime, chunk: Chunk) -> AsyncIterator["HandOver"]:
    """The hand-over of this chunk's job in this process, shared while any
    of its chunks runs. On leaving, the outcomes written so far (this chunk's
    among them) are written: the chunk is marked done after."""
    key = (id(rt), chunk.job.shop_id, chunk.job.job_id, chunk.month)
    handover = _open.get(key)
    if handover is None:
        handover = _open[key] = HandOver(rt, chunk)
    handover.users += 1
    try:
        yield handover
    finally:
        handover.users -= 1
        if not handover.users:
            del _open[key]
            await handover.outcomes.close()
        else:
            await handover.outcomes.flush()


class HandOver:
    def __init__(self, rt: Runtime, chunk: Chunk):
        # Only the job's identity and plan are read from `chunk`: the same for all its chunks.
        self.rt, self.chunk = rt, chunk
        self.users = 0
        self.outcomes = OutcomeWriter(rt, chunk, size=rt.tuning.outcome_batch)
        self.queued: list[tuple[Queued, asyncio.Future[Attempt | None]]] = []
        self.writers: set[asyncio.Task] = set()

    async def open(self, row: Queued) -> Attempt | None:
        """The committed attempt, to hand to the provider now; None if it is
        not to be sent (another run of the chunk has it, or the plan ran out:
        recorded as blocked/plan_limit)."""
        waiter = asyncio.get_running_loop().create_future()
        self.queued.append((row, waiter))
        # Calls queued while MAX_WRITERS writes run wait for the next group.
        busy = sum(1 for t in self.writers if not t.done())
        if not busy or (busy < MAX_WRITERS and len(self.queued) == 1):
            task = asyncio.create_task(self._write())
            self.writers.add(task)
            task.add_done_callback(self.writers.discard)
        return await waiter

    async def _write(self) -> None:
        while self.queued:
            # Let the senders already scheduled join this group: the write
            # costs the same for one row or a hundred.
            waited = 0
            while waited < 8:
                before = len(self.queued)
                await asyncio.sleep(0)
                waited += 1
                if len(self.queued) == before:
                    break
            group, self.queued = self.queued, []
            try:
                opened = await open_attempts(self.rt, self.chunk, [row for row, _ in group])
            except Exception as exc:
                for _, waiter in group:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            by_key = {(a.signup.signup_id, a.attempt): a for a in opened}
            abandoned = []
            for (signup, _batch, number), waiter in group:
                attempt = by_key.get((signup.signup_id, number))
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
