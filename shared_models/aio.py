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
