"""How many `run_job` chains start a send job: the one rule, for the API
(notify, bulk_notify) and the dispatcher (restocks, reminders, next batches).

A chain is one arq job that sends a chunk of DISPATCH_CHUNK_SIZE targets and
enqueues itself again; a job gets one chain per chunk, up to
DISPATCH_PARALLEL_CHAINS, so that several workers share a big one."""
from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from shared_models.config import MissingConfig, _int
from shared_models.queue import RUN_JOB, Queue


def env_int_at_least(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    value = _int(dict(env), name, default)
    if value < minimum:
        raise MissingConfig(f"{name} (must be an integer of at least {minimum}, got {env.get(name)!r})")
    return value


@dataclass(frozen=True)
class Chains:
    chunk_size: int = 200
    parallel: int = 2

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Chains":
        env = os.environ if env is None else env
        return cls(chunk_size=env_int_at_least(env, "DISPATCH_CHUNK_SIZE", cls.chunk_size),
                   parallel=env_int_at_least(env, "DISPATCH_PARALLEL_CHAINS", cls.parallel))

    def count(self, targets: int) -> int:
        """One per chunk of targets, at least one (a job with none still finishes), at most `parallel`."""
        return min(self.parallel, max(1, -(-targets // self.chunk_size)))


async def start_chains(queue: Queue, chains: Chains, shop_id: uuid.UUID, job_id: uuid.UUID, targets: int,
                       defer_by: float | None = None) -> None:
    for _ in range(chains.count(targets)):
        await queue.try_enqueue(RUN_JOB, str(shop_id), str(job_id), defer_by=defer_by)
