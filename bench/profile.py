"""Where a process's CPU goes, by stage: py-spy samples of it, each sample
given to the stage of its innermost frame that names one (bench/budget.py).

py-spy (a sampling profiler that reads the process from outside: the API
runs unchanged) is optional: without it, or without the right to trace, the
budget says so and gives the per-process figures alone."""
from __future__ import annotations

import asyncio
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

# Frames that are every sample's roots (the CLI, the event loop's run):
# they never decide a stage.
ROOTS = ("api_service/cli/", "shared_models/aio.py", "asyncio/")

# (stage, paths). A sample goes to the stage of its innermost Python frame
# whose file is one of the paths or under one of the folders (py-spy writes a
# library's file relative to its site-packages, "marshmallow/schema.py").
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("validation (marshmallow schemas, phone numbers)",
     ("marshmallow/", "api_service/signups/schemas.py", "api_service/signups/validators.py", "phonenumbers/",
      "shared_models/contacts.py")),
    ("group write (coalescer, asyncpg encode and decode)",
     ("asyncpg/", "shared_models/groups.py", "api_service/signups/groups.py", "uuid.py")),
    ("rate limit (batched Redis script)", ("redis/", "api_service/ratelimit.py", "shared_models/breaker.py")),
    ("request log line and metrics", ("logging/", "prometheus_client/", "api_service/observability/",
                                      "shared_models/log_context.py")),
    ("response body (shaping, orjson)", ("api_service/signups/output.py", "shared_models/jsonutil.py",
                                         "shared_models/naming.py")),
    ("HTTP in Python (aiohttp: routing, request and response objects)", ("aiohttp/", "multidict/", "yarl/")),
    ("the rest of our request path (middleware, auth, idempotency, hooks)", ("api_service/", "shared_models/")),
)
LOOP = "no Python frame: uvloop and libuv, aiohttp's C HTTP parser, asyncpg's C protocol"
SYSCALLS = "libc (system calls: socket reads and writes, epoll; memory)"

_FRAME = re.compile(r"\((?P<path>[^()]*):\d+\)$")


def frame_path(frame: str) -> str:
    """py-spy's raw frame `name (path:line)` → path ('' when it has none)."""
    m = _FRAME.search(frame.strip())
    return m.group("path") if m else ""


def _under(path: str, prefix: str) -> bool:
    return path.startswith(prefix) or "/" + prefix in path


def stage_of(stack: list[str]) -> str:
    """`stack`: frames outermost first, as py-spy writes them; native frames
    (C files and libraries: --native) never decide a stage."""
    for frame in reversed(stack):
        path = frame_path(frame)
        if not path.endswith(".py") or any(_under(path, root) for root in ROOTS):
            continue
        for stage, prefixes in STAGES:
            if any(_under(path, prefix) for prefix in prefixes):
                return stage
    return LOOP


def in_libc(stack: list[str]) -> bool:
    return "(libc.so" in stack[-1] if stack else False


def stages(raw: str) -> Counter[str]:
    """Samples per stage from py-spy's `--format raw` output (collapsed
    stacks: `frame;frame;… count` per line), plus SYSCALLS: the samples whose
    innermost frame is in libc, whatever their stage."""
    out: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames = stack.split(";")
            out[stage_of(frames)] += int(count)
            if in_libc(frames):
                out[SYSCALLS] += int(count)
    return out


def available() -> str | None:
    """py-spy on PATH, or beside this Python (a venv's bin, not activated)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


async def record(pid: int, seconds: float, keep: Path | None = None) -> Counter[str] | str:
    """Samples per stage over `seconds` (call it beside the load), or why none.
    `keep`: where to leave py-spy's collapsed stacks (a flame graph's input)."""
    spy = available()
    if spy is None:
        return "py-spy is not installed (pip install py-spy)"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "raw.txt"
        proc = await asyncio.create_subprocess_exec(
            # --native: C frames too (which libc calls the time goes to); it pauses the process
            # for each sample, so the measured runs are separate from this one.
            spy, "record", "--pid", str(pid), "--rate", "250", "--duration", str(int(seconds)), "--native",
            "--format", "raw", "--output", str(out),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        if proc.returncode != 0 or not out.exists():
            return f"py-spy failed: {err.decode(errors='replace').strip()[-300:]}"
        raw = out.read_text()
    if keep is not None:
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.write_text(raw)
    return stages(raw)
