"""The event loop our processes run on: uvloop where it is installed (its
socket and protocol code is C, roughly halving the CPU an API request or a
dispatcher's database round trip costs), else asyncio's own."""
from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

try:
    import uvloop
except ImportError:  # e.g. Windows, where uvloop does not build
    uvloop = None


def run(main: Coroutine[Any, Any, T]) -> T:
    factory = uvloop.new_event_loop if uvloop is not None else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


async def cancel_and_wait(task: asyncio.Task, timeout: float = 10.0) -> None:
    """Cancels a background loop and waits until it has really stopped. A task
    only cancelled may still be inside an await that swallows the cancellation
    (a driver's retry, a `except Exception` around a pool call) and go on
    looping over connections its owner is about to close."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not task.done():
        task.cancel()
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise RuntimeError(f"background task {task.get_name()} ignored cancellation")
        await asyncio.wait([task], timeout=min(remaining, 1.0))
