"""What a worker holds for its jobs: connections, providers and tuning."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from shared_models.context import Connections
from dispatcher.channels.base import Provider
from dispatcher.metrics import DispatcherMetrics
from shared_models.chains import env_int_at_least
from shared_models.config import MissingConfig, _float
from shared_models.queue import Queue


def _env_float(name: str, default: float) -> float:
    value = _float(os.environ, name, default)
    if not value > 0:  # also refuses NaN
        raise MissingConfig(f"{name} (must be a number above 0, got {os.environ.get(name)!r})")
    return value


def _env_int(name: str, default: int) -> int:
    return env_int_at_least(os.environ, name, default)


@dataclass
class Tuning:
    lease_seconds: float = 20.0  # a dead worker's targets are taken over after this (extended every third)
    sweep_seconds: float = 10.0  # how often one worker looks for lost work
    stale_seconds: float = 20.0  # a job with no heartbeat for this long gets re-enqueued
    chunk_size: int = 200  # targets per claim: one arq job, then shops take turns
    parallel_chains: int = 2  # chains per job, so several workers share a big restock
    send_concurrency: int = 16  # provider calls in flight per chunk
    outcome_batch: int = 100  # outcomes written together (fewer, larger writes for fast providers)
    max_attempts: int = 3  # transient failures: attempt rows before giving up
    retry_delay: float = 0.5  # backoff base, doubled per attempt
    max_rate_limit_waits: int = 10  # provider 429s waited out per message
    reminder_seconds: float = 300.0  # how often one worker looks for due reminders
    fold_seconds: float = 2.0  # how often report deltas are folded into the rollups

    @classmethod
    def from_env(cls) -> "Tuning":
        d = cls()
        return cls(
            lease_seconds=_env_float("DISPATCH_LEASE_SECONDS", d.lease_seconds),
            sweep_seconds=_env_float("DISPATCH_SWEEP_SECONDS", d.sweep_seconds),
            stale_seconds=_env_float("DISPATCH_STALE_SECONDS", d.stale_seconds),
            chunk_size=_env_int("DISPATCH_CHUNK_SIZE", d.chunk_size),
            parallel_chains=_env_int("DISPATCH_PARALLEL_CHAINS", d.parallel_chains),
            send_concurrency=_env_int("DISPATCH_SEND_CONCURRENCY", d.send_concurrency),
            outcome_batch=_env_int("DISPATCH_OUTCOME_BATCH", d.outcome_batch),
            max_attempts=_env_int("DISPATCH_MAX_ATTEMPTS", d.max_attempts),
            retry_delay=_env_float("DISPATCH_RETRY_DELAY", d.retry_delay),
            reminder_seconds=_env_float("DISPATCH_REMINDER_SECONDS", d.reminder_seconds),
            fold_seconds=_env_float("DISPATCH_FOLD_SECONDS", d.fold_seconds),
        )


@dataclass
class Runtime:
    conns: Connections
    queue: Queue
    providers: dict[str, Provider]
    throttle: Any  # dispatcher.throttle.Throttle
    tuning: Tuning = field(default_factory=Tuning)
    metrics: DispatcherMetrics = field(default_factory=DispatcherMetrics)  # this process's own registry
