"""Group commit: concurrent callers of one kind of write share a round trip.

A write that costs about as much for a hundred rows as for one (a statement
over arrays, a batched Redis script) is submitted here item by item. The first
item of an idle group is written at once, alone: nobody waits for company.
While a write is in flight, the items that arrive queue, and the next write
takes all of them (up to max_group). Under load a group is about as large as
the number of callers that arrived during one write; at low load every item
pays one round trip, as it would alone.

The write gets the items in arrival order and returns one result per item, in
the same order: a value, or an exception that only that item's caller raises.
An exception raised by the write itself fails every item of its group."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Write = Callable[[list[T]], Awaitable[list[Any]]]


class Coalescer(Generic[T, R]):
    def __init__(self, write: Write, *, max_group: int = 128, max_writers: int = 1,
                 on_idle: Callable[[], None] | None = None):
        self.write, self.max_group, self.max_writers = write, max_group, max_writers
        self.on_idle = on_idle
        self.queued: list[tuple[T, asyncio.Future]] = []
        self.writers: set[asyncio.Task] = set()  # kept referenced while they run
        # Writers still draining: counted down the moment one finds the queue
        # empty (a finished task's done callback may come after the next submit).
        self.draining = 0
        self.groups = 0  # writes made, for tests and the bench: items / groups is the mean group size
        self.items = 0

    async def submit(self, item: T) -> R:
        waiter = asyncio.get_running_loop().create_future()
        self.queued.append((item, waiter))
        # A new writer only when none runs, or (with several allowed) for the
        # first item queued behind the running ones: later items join its group.
        if not self.draining or (self.draining < self.max_writers and len(self.queued) == 1):
            self.draining += 1
            task = asyncio.create_task(self._drain())
            self.writers.add(task)
            task.add_done_callback(self._done)
        return await waiter

    def _done(self, task: asyncio.Task) -> None:
        self.writers.discard(task)
        if not self.draining and not self.queued and self.on_idle is not None:
            self.on_idle()

    async def _drain(self) -> None:
        try:
            await self._write_queued()
        finally:
            self.draining -= 1

    async def _write_queued(self) -> None:
        while self.queued:
            group, self.queued = self.queued[:self.max_group], self.queued[self.max_group:]
            self.groups += 1
            self.items += len(group)
            try:
                results = await self.write([item for item, _ in group])
            except Exception as exc:
                for _, waiter in group:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            for (_, waiter), result in zip(group, results, strict=True):
                if waiter.done():  # its caller was cancelled meanwhile
                    continue
                if isinstance(result, BaseException):
                    waiter.set_exception(result)
                else:
                    waiter.set_result(result)


class Coalescers(Generic[T, R]):
    """One Coalescer per key (a shop: every statement names one shop), made on
    first use and dropped once idle, so that idle shops cost nothing."""

    def __init__(self, write: Callable[[Hashable, list[T]], Awaitable[list[Any]]], **options: Any):
        self.write, self.options = write, options
        self.by_key: dict[Hashable, Coalescer[T, R]] = {}
        self.groups = 0  # writes made and items written, over every key
        self.items = 0

    async def submit(self, key: Hashable, item: T) -> R:
        group = self.by_key.get(key)
        if group is None:
            group = self.by_key[key] = Coalescer(
                lambda items: self._write(key, items), on_idle=lambda: self._forget(key), **self.options)
        return await group.submit(item)

    async def _write(self, key: Hashable, items: list[T]) -> list[Any]:
        self.groups += 1
        self.items += len(items)
        return await self.write(key, items)

    def _forget(self, key: Hashable) -> None:
        group = self.by_key.get(key)
        if group is not None and not group.draining and not group.queued:
            del self.by_key[key]
