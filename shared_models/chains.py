"""How many `run_job` chains start a send job: the one rule, for the API
(notify, bulk_notify) and the dispatcher (restocks, reminders, next batches).

A chain is one arq job that sends a chunk of DISPATCH_CHUNK_SIZE targets and
enqueues itself again; a job gets one chain per chunk, up to
DISPATCH_PARALLEL_CHAINS, so that several workers share a big one."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared_models.config import Dispatch
from shared_models.queue import RUN_JOB, Queue


@dataclass(frozen=True)
class Chains:
    chunk_size: int = Dispatch.chunk_size
    parallel: int = Dispatch.parallel_chains

    @classmethod
    def of(cls, dispatch: Dispatch) -> "Chains":
        """From config.dispatch (DISPATCH_CHUNK_SIZE, DISPATCH_PARALLEL_CHAINS) or a worker's Tuning."""
        return cls(chunk_size=dispatch.chunk_size, parallel=dispatch.parallel_chains)

    def count(self, targets: int) -> int:
        """One per chunk of targets, at least one (a job with none still finishes), at most `parallel`."""
        return min(self.parallel, max(1, -(-targets // self.chunk_size)))


async def start_chains(queue: Queue, chains: Chains, shop_id: uuid.UUID, job_id: uuid.UUID, targets: int,
                       defer_by: float | None = None) -> None:
    for _ in range(chains.count(targets)):
        await queue.try_enqueue(RUN_JOB, str(shop_id), str(job_id), defer_by=defer_by)
