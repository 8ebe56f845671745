"""`backinstock dispatcher` as a process against a Redis that goes away: it
rides out a short outage and exits 1 after a long one, so that a supervisor
restarts it."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from api_service.admin import shops as admin
from api_service.app import create_app
from api_service.context import CONNECTIONS
from shared_models.config import Config
from shared_models.embedded import EmbeddedRedis, free_port
from tests.conftest import Api
from tests.dispatch_support import wait_for
from tests.factories import signup_body

SCRIPT = Path(sys.executable).parent / "backinstock"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "api_service.cli"]


class Dispatcher:
    """One `backinstock dispatcher` process; its stderr goes to a file."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.metrics_port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> "Dispatcher":
        env = {**os.environ, **self.env, "LOG_FORMAT": "json",
               "DISPATCHER_METRICS_PORT": str(self.metrics_port)}
        with open(self.log_path, "wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *COMMAND, "dispatcher", "--concurrency", "2", env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=log)
        return self

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.startswith("{")]

    async def metrics_answer(self) -> bool:
        """True once the worker has started (its metrics endpoint answers)."""
        assert self.proc.returncode is None, self.log_path.read_text()
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
                async with http.get(f"http://127.0.0.1:{self.metrics_port}/metrics") as resp:
                    return resp.status == 200
        except aiohttp.ClientError:
            return False

    async def logged(self, text: str) -> bool:
        return any(text in line["message"] for line in self.log_lines())

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture
def private_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


async def test_dispatcher_exits_nonzero_when_redis_stays_unreachable(env, private_redis, tmp_path):
    dispatcher = await Dispatcher({**env, "REDIS_URL": private_redis.url,
                                   "DISPATCHER_REDIS_GRACE_SECONDS": "2"}, tmp_path / "dispatcher.log").start()
    try:
        await wait_for(dispatcher.metrics_answer, timeout=30, what="the dispatcher to start")
        private_redis.stop()
        lost_at = time.monotonic()
        code = await asyncio.wait_for(dispatcher.proc.wait(), 10)
        took = time.monotonic() - lost_at
    finally:
        await dispatcher.stop()
    output = dispatcher.log_path.read_text()
    assert code == 1, output
    assert 2 <= took < 10  # the grace period was waited out, not more than a few seconds beyond
    errors = [line for line in dispatcher.log_lines() if line["level"] == "ERROR"]
    assert any("Redis unreachable for" in line["message"] for line in errors), output
    assert "Traceback" not in output


async def test_dispatcher_rides_out_a_short_redis_outage(env, private_redis, tmp_path, aiohttp_client):
    config = Config.from_env({**env, "REDIS_URL": private_redis.url})
    client = await aiohttp_client(create_app(config))
    pool = client.app[CONNECTIONS].pool
    shop = await admin.create_shop(pool, "outage.myshopify.com", plan="pro")
    api = Api(client, {"X-Auth-Token": shop["api_key"]})
    status, signup, _ = await api.post("/back_in_stock/signups", json=signup_body())
    assert status == 201, signup

    # Grace 8 s: the watchdog pings every 2 s, so it sees the outage begin and end.
    dispatcher = await Dispatcher({**env, "REDIS_URL": private_redis.url, "DISPATCHER_REDIS_GRACE_SECONDS": "8",
                                   "DISPATCH_SWEEP_SECONDS": "0.5", "DISPATCH_STALE_SECONDS": "1"},
                                  tmp_path / "dispatcher.log").start()
    try:
        await wait_for(dispatcher.metrics_answer, timeout=30, what="the dispatcher to start")
        private_redis.stop()
        # The worker's poll loop hit the outage (arq's own loop would have died here).
        await wait_for(lambda: dispatcher.logged("lost Redis"), timeout=10, what="the worker to notice")
        status, body, _ = await api.post(f"/back_in_stock/signups/{signup['id']}/notify", json={})
        assert status == 202  # kept in PostgreSQL until Redis is back
        await wait_for(lambda: dispatcher.logged("Redis unreachable; the dispatcher stops"), timeout=10,
                       what="the watchdog to notice")
        assert dispatcher.proc.returncode is None
        private_redis.start()  # same port, well within the grace period

        async def job_done() -> bool:
            assert dispatcher.proc.returncode is None, dispatcher.log_path.read_text()
            return await pool.fetchval("SELECT status FROM jobs WHERE job_id = $1::uuid", body["job_id"]) == "done"

        await wait_for(job_done, timeout=30, what="the job to run once Redis was back")
        await wait_for(lambda: dispatcher.logged("Redis reachable again"), timeout=10, what="the watchdog to reset")
        assert await dispatcher.logged("Redis is back")
        dispatcher.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(dispatcher.proc.wait(), 40)
    finally:
        await dispatcher.stop()
    assert code == 0, dispatcher.log_path.read_text()
    status, read, _ = await api.get(f"/back_in_stock/signups/{signup['id']}")
    assert read["status"] == "notified"
