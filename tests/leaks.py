"""A test that leaves something running fails, and what it left is stopped.

A task or process outliving its test keeps working on the next test's Redis
database and queue (a sweeper holding the sweep lock, a worker taking jobs),
which shows up later as a timeout in some unrelated test. Failing the test
that leaked points at the cause instead.
"""
from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

# Whatever is still running this long after its test's fixtures are torn down leaked.
GRACE_SECONDS = 3.0


def child_pids() -> set[int]:
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").glob("*"):
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _describe(task: asyncio.Task) -> str:
    return f"{task.get_name()} {task.get_coro()!r}"


async def check_tasks(before: set[asyncio.Task]) -> list[str]:
    """Tasks started during the test and still running: waited for a moment,
    then cancelled and named."""
    current = asyncio.current_task()
    left = {t for t in asyncio.all_tasks() if t not in before and t is not current and not t.done()}
    if left:
        await asyncio.wait(left, timeout=GRACE_SECONDS)
    stuck = [t for t in left if not t.done()]
    for task in stuck:
        task.cancel()
    if stuck:
        await asyncio.wait(stuck, timeout=GRACE_SECONDS)
    return [_describe(t) for t in stuck]


async def check_processes(before: set[int]) -> list[str]:
    """Child processes started during the test and still alive: killed and named."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GRACE_SECONDS
    while True:
        left = [pid for pid in child_pids() - before if _alive(pid)]
        if not left or loop.time() > deadline:
            break
        await asyncio.sleep(0.1)
    names = []
    for pid in left:
        try:
            names.append(f"pid {pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue
    return names


async def check_backends(admin_conn, database: str) -> list[str]:
    """PostgreSQL backends still connected to the test's database: waited for
    a moment (a pool closing in a finished process), then named."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GRACE_SECONDS
    while True:
        rows = await admin_conn.fetch(
            "SELECT pid, application_name, state, left(query, 120) AS query FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()", database)
        if not rows or loop.time() > deadline:
            break
        await asyncio.sleep(0.1)
    return [f"backend pid {r['pid']} app={r['application_name']!r} {r['state']}: {r['query']}" for r in rows]
