"""What a worker holds for its jobs: connections, providers and tuning."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shared_models.context import Connections
from dispatcher.channels.base import Provider
from dispatcher.metrics import DispatcherMetrics
from dispatcher.throttle import Throttle
from shared_models.config import Dispatch
from shared_models.queue import Queue


# arq's ctx, as its tasks and crons receive it: arq's own keys (redis,
# job_id, ...) and ours, "rt" (this module's Runtime), set by the worker's startup.
ArqContext = dict[str, Any]


@dataclass(frozen=True)
class Tuning(Dispatch):
    """The DISPATCH_* settings (config.dispatch: each field's meaning is there)
    and what only code sets; tests build one with shorter periods."""

    max_rate_limit_waits: int = 10  # provider 429s waited out per message

    @classmethod
    def of(cls, dispatch: Dispatch) -> "Tuning":
        return cls(**asdict(dispatch))


@dataclass
class Runtime:
    conns: Connections
    queue: Queue
    providers: dict[str, Provider]
    throttle: Throttle
    tuning: Tuning = field(default_factory=Tuning)
    metrics: DispatcherMetrics = field(default_factory=DispatcherMetrics)  # this process's own registry
