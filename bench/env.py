"""Where the bench runs: a scratch database, Redis, and our own processes."""
from __future__ import annotations

import asyncio
import os
import platform
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared_models.embedded import EmbeddedRedis, data_root, free_port, start_postgres

SCRIPT = Path(sys.executable).parent / "backinstock"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "api_service.cli"]
DB_NAME = os.environ.get("BENCH_DB_NAME", "bis_bench")  # a machine shared by several benches: one each
LOGS = Path(__file__).resolve().parent / "results" / "logs"


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


class BenchEnv:
    """BENCH_DATABASE_URL / BENCH_REDIS_URL (or the TEST_ ones), else embedded servers."""

    def __init__(self) -> None:
        self.pg_server = None
        self.redis_server: EmbeddedRedis | None = None
        self.base_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
        self.redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL")
        self.db_url = ""
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self) -> None:
        if not self.base_url:
            self.base_url, self.pg_server = start_postgres(data_root() / "bench-pg")
        if not self.redis_url:
            self.redis_server = EmbeddedRedis(data_root() / "bench-redis")
            self.redis_url = self.redis_server.start()
        admin = await asyncpg.connect(self.base_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DB_NAME}"')
        await admin.close()
        self.db_url = with_database(self.base_url, DB_NAME)

    def process_env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.db_url, "REDIS_URL": self.redis_url,
                "SECRET_KEY": "bench-secret-0123456789abcdef0123456789", "ALLOW_CONSOLE_PROVIDERS": "1", "RATE_LIMIT_PER_SECOND": "1000000",
                "RATE_LIMIT_BURST": "1000000", "LOG_LEVEL": "WARNING", "DB_POOL_MAX": "20", **extra}

    async def spawn(self, *args: str, **extra: str) -> asyncio.subprocess.Process:
        """Our processes log warnings and errors (JSON lines) to
        bench/results/logs/<command>-<n>.log: a failed section can be diagnosed."""
        LOGS.mkdir(parents=True, exist_ok=True)
        with open(LOGS / f"{args[0]}-{len(self.processes)}.log", "wb") as log:
            proc = await asyncio.create_subprocess_exec(
                *COMMAND, *args, env=self.process_env(**extra),
                stdout=asyncio.subprocess.DEVNULL, stderr=log)
        self.processes.append(proc)
        return proc

    async def start_api(self) -> tuple[str, asyncio.subprocess.Process]:
        port = free_port()
        proc = await self.spawn("api", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        await self.wait_healthy(url)
        return url, proc

    @staticmethod
    async def wait_healthy(url: str) -> None:
        """Until `url`/healthz answers 200 (10 s at most)."""
        import aiohttp
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(url + "/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{url} did not start")

    @staticmethod
    async def stop(proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()

    async def close(self) -> None:
        for proc in self.processes:
            await self.stop(proc)
        admin = await asyncpg.connect(self.base_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await admin.close()
        if self.redis_server:
            self.redis_server.stop()


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _cpu_seconds(pid: str) -> float:
    """User + system CPU of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_processes() -> dict[str, tuple[str, str]]:
    """pid → (parent pid, command line) of every process named postgres."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                    out[entry.name] = (ppid, (entry / "cmdline").read_text().replace("\0", " "))
            except OSError:
                continue
    return out


def cpu_by_process(api_pid: int, db_name: str = DB_NAME) -> dict[str, float]:
    """CPU seconds so far of the API process, of the PostgreSQL backends
    serving the bench's database (per pid: a diff counts the backends alive at
    the end, the API's pooled ones, including those connected meanwhile), of
    that server's own processes (WAL writer, checkpointer…: "pgserver", shared
    with any other database of the server) and of this bench process. Other
    databases' backends are left out: on a shared machine they are someone else's."""
    procs = _postgres_processes()
    ours = {pid for pid, (_, cmd) in procs.items() if f" {db_name} " in cmd}
    servers = {procs[pid][0] for pid in ours}
    out = {"api": _cpu_seconds(str(api_pid)), "bench": sum(os.times()[:2])}
    for pid, (ppid, cmd) in procs.items():
        if pid in ours:
            out[f"pg{pid}"] = _cpu_seconds(pid)
        elif ppid in servers and "(" not in cmd and "[local]" not in cmd:
            out[f"pgserver{pid}"] = _cpu_seconds(pid)
    return out


def cpu_per_unit(before: dict[str, float], after: dict[str, float], units: int) -> dict[str, float]:
    """Milliseconds of CPU per unit of work: API, PostgreSQL (the bench
    database's backends; the server's own processes), bench client."""
    def spent(prefix: str) -> float:
        return sum(after[k] - before.get(k, 0.0) for k in after if k.startswith(prefix) and k[len(prefix)].isdigit())

    return {"api": 1000 * (after["api"] - before["api"]) / units, "postgres": 1000 * spent("pg") / units,
            "postgres server": 1000 * spent("pgserver") / units,
            "bench client": 1000 * (after["bench"] - before["bench"]) / units}


async def machine(db_url: str) -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    conn = await asyncpg.connect(db_url)
    pg = await conn.fetchval("SHOW server_version")
    await conn.close()
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory_gb": f"{int(mem) / 1024 / 1024:.0f}",
            "postgres": pg, "python": platform.python_version()}
