"""Each test's own database: a clone of the migrated template, or one emptied
back to the template's state, prepared off the test's path.

Cloning (CREATE DATABASE … TEMPLATE) writes the whole template again, about
10 MB of pages and as much WAL, and on PostgreSQL 15 every DROP DATABASE makes
the checkpointer write every dirty buffer of the whole server and waits for
it. With a clone and a drop per test the suite spent 0.2 s a test (median, 4
workers) waiting on checkpoints and was bound by the disk. So a thread of the
xdist worker, with its own event loop and connections, keeps databases ready:
a database whose test has ended is emptied (TRUNCATE of every table the
template leaves empty, identities restarted) and used again, but only when its
catalog still matches the template's, no statistics were gathered in it and
it has served fewer than MAX_USES tests; otherwise it is dropped and a new
clone made. A database still connected when its test ends leaked it: named,
cut off, dropped.
"""
from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests import leaks

T = TypeVar("T")
READY = 4  # databases ready or being emptied, kept ahead of the tests
MAX_USES = 25  # then dropped: bounds catalog churn and whatever a check could miss
# Everything a test could change in a database's definition, and whether any
# statistics exist (a fresh clone has none): equal to the template's, or not used again.
FINGERPRINT = (Path(__file__).parent / "fixtures" / "database_fingerprint.sql").read_text()
EMPTY_TABLES = """
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND c.relname <> ALL($1::text[])
ORDER BY c.relname
"""


class DatabaseStock:
    def __init__(self, base_url: str, template: str, prefix: str, seeded: tuple[str, ...] = ("schema_migrations",)):
        self.base_url, self.template, self.prefix, self.seeded = base_url, template, prefix, seeded
        self.errors: list[str] = []
        self.counts = {"made": 0, "reused": 0, "dropped": 0}
        self.retired: dict[str, str] = {}  # database: why it was dropped rather than used again
        self._names = itertools.count()
        self._live: set[str] = set()  # made and not yet dropped: what close() drops
        self._uses: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-databases", daemon=True)
        self._thread.start()
        self._call_sync(self._start())

    # --- called from the tests' event loop ---------------------------------

    async def take(self) -> str:
        """A database in the template's state: ready at once when the stock kept up."""
        return await self._call(self._take())

    async def end(self, name: str) -> list[str]:
        """The test using `name` is over: whatever still holds a connection to it
        leaked (an unclosed pool, a process not stopped) and is named."""
        return await self._call(self._end(name))

    def close(self) -> None:
        """Drops every database this stock made, then stops its thread."""
        self._call_sync(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=60)
        self._loop.close()

    # --- the thread's own loop ---------------------------------------------

    async def _start(self) -> None:
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._emptying = 0
        self._changed = asyncio.Event()
        self._admin = await asyncpg.connect(self.base_url)  # leak checks
        self._maker_conn = await asyncpg.connect(self.base_url)  # clones, one at a time
        first = await self._make()
        async with self._connect(first) as conn:
            self._fingerprint = await conn.fetchval(FINGERPRINT)
            tables = await conn.fetch(EMPTY_TABLES, list(self.seeded))
        self._truncate = "TRUNCATE " + ", ".join(f'"{t["relname"]}"' for t in tables) + " RESTART IDENTITY"
        self._ready.put_nowait(first)
        self._tasks: set[asyncio.Task] = set()
        self._maker = asyncio.create_task(self._keep_ahead())

    async def _take(self) -> str:
        self._changed.set()
        get = asyncio.ensure_future(self._ready.get())
        await asyncio.wait({get, self._maker}, return_when=asyncio.FIRST_COMPLETED)
        if not get.done():
            get.cancel()
            self._maker.result()  # raises what stopped it
            raise RuntimeError("the test database maker stopped")
        self._changed.set()
        return get.result()

    async def _keep_ahead(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            while self._ready.qsize() + self._emptying < READY:
                self._ready.put_nowait(await self._make())

    async def _make(self) -> str:
        name = f"{self.prefix}_{next(self._names)}"
        self._live.add(name)
        await self._maker_conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.counts["made"] += 1
        return name

    async def _end(self, name: str) -> list[str]:
        left = await leaks.check_backends(self._admin, name)
        if left:
            await self._admin.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                                      "WHERE datname = $1 AND pid <> pg_backend_pid()", name)
        self._uses[name] = self._uses.get(name, 0) + 1
        self._emptying += 1
        self._spawn(self._reuse_or_drop(name, reusable=not left))
        return [f"{name}: {b}" for b in left]

    async def _reuse_or_drop(self, name: str, reusable: bool) -> None:
        try:
            why = ("connected when its test ended" if not reusable else
                   f"served {MAX_USES} tests" if self._uses[name] >= MAX_USES else await self._empty(name))
            if why is None:
                self._ready.put_nowait(name)
                self.counts["reused"] += 1
                return
            self.retired[name] = why
            await self._drop(name)
        except Exception as exc:  # left behind, said at close()
            self.errors.append(f"{name}: {exc!r}")
        finally:
            self._emptying -= 1
            self._changed.set()

    async def _empty(self, name: str) -> str | None:
        """Empties the database if it can serve again, else says why not."""
        async with self._connect(name) as conn:
            if await conn.fetchval(FINGERPRINT) != self._fingerprint:
                return "its definition or statistics differ from the template's"
            await conn.execute(self._truncate)
            return None

    async def _drop(self, name: str) -> None:
        async with _Connection(self.base_url) as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._live.discard(name)
        self.counts["dropped"] += 1

    def _connect(self, database: str) -> Any:
        return _Connection(with_database(self.base_url, database))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._maker.cancel()
        await asyncio.gather(self._maker, return_exceptions=True)
        await self._admin.close()
        await self._maker_conn.close()
        await asyncio.gather(*(self._drop(name) for name in list(self._live)))

    def _call_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


class _Connection:
    """`async with`: a connection, closed after."""

    def __init__(self, url: str):
        self.url = url

    async def __aenter__(self) -> asyncpg.Connection:
        self.conn = await asyncpg.connect(self.url)
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        await self.conn.close()
