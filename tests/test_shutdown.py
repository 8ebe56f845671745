"""SIGTERM, as a deploy or a scale-down sends it, to real `backinstock api` and
`backinstock dispatcher` processes: work in flight completes, nothing new
starts, the process exits 0, and (for the dispatcher) a new process finishes
the rest without alerting anybody twice."""
from __future__ import annotations

import asyncio
import json
import signal
import uuid

import pytest_asyncio

from tests.api_process import COMMAND, ApiProcess, cli_json, process_env
from tests.dispatch_support import wait_for
from tests.factories import signup_body
from tests.test_dispatch_faults import SlowGateway


async def _refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False


async def test_api_finishes_the_request_in_flight_then_exits_0(env, tmp_path):
    shop = cli_json(env, "shops", "create", "--domain", f"term-{uuid.uuid4().hex[:8]}.myshopify.com")
    api = ApiProcess(env, tmp_path / "api.log").start()
    try:
        body = signup_body(email="slow@example.com")
        body["product"]["url"] = f"https://{shop['domain']}/products/linen-shirt?variant=4001"
        raw = json.dumps(body).encode()
        head = ("POST /api/v2/external/back_in_stock/signups HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{api.port}\r\nX-Auth-Token: {shop['api_key']}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(raw)}\r\n"
                "Expect: 100-continue\r\n\r\n")
        reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
        writer.write(head.encode())
        await writer.drain()
        # 100 Continue: the request is in the application's hands, its body not yet sent.
        assert (await asyncio.wait_for(reader.readline(), 10)).startswith(b"HTTP/1.1 100")
        assert await asyncio.wait_for(reader.readline(), 10) == b"\r\n"
        writer.write(raw[:20])
        await writer.drain()

        api.proc.send_signal(signal.SIGTERM)
        # It stops accepting connections at once, while the request is still open...
        await wait_for(lambda: _refused(api.port), timeout=10, what="the listening socket closed")
        assert api.proc.poll() is None
        # ...and the request, finished now, is still served in full.
        writer.write(raw[20:])
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
        status_line, *header_lines = head.decode().split("\r\n")
        assert status_line.startswith("HTTP/1.1 201"), head
        headers = dict(line.lower().split(": ", 1) for line in header_lines if line)
        assert headers.get("connection") == "close"  # the client's next request goes elsewhere
        created = json.loads(await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 15))
        assert created["contact"] == "slow@example.com"
        assert await asyncio.wait_for(reader.read(), 15) == b""  # and this connection is closed
        writer.close()

        await wait_for(_exited(api), timeout=20, what="the api process to exit")
        assert api.proc.returncode == 0, api.log()
        assert "Traceback" not in api.log()
    finally:
        api.stop()


def _exited(api: ApiProcess):
    async def check() -> bool:
        return api.proc.poll() is not None
    return check


@pytest_asyncio.fixture
async def gateway():
    gw = await SlowGateway(delay=0.05).start()
    yield gw
    await gw.stop()


async def test_dispatcher_finishes_its_running_chunk_then_exits_0(api, pool, make_shop, env, gateway, tmp_path):
    shop = await make_shop(plan="unlimited")
    api = api.with_key(shop.api_key)
    status, _, _ = await api.patch("/back_in_stock/settings/channels", json={"push": {"enabled": True}})
    assert status == 200
    ids = await push_signups(api, 50)
    worker_env = {**env, "PUSH_GATEWAY_URL": gateway.url, "DISPATCH_CHUNK_SIZE": "10",
                  "DISPATCH_SEND_CONCURRENCY": "1",
                  "DISPATCH_SWEEP_SECONDS": "0.5", "DISPATCH_STALE_SECONDS": "1", "DISPATCH_LEASE_SECONDS": "3"}
    log = tmp_path / "dispatchers.log"
    first = await start_dispatcher(worker_env, log)
    second = None
    try:
        status, body, _ = await api.post("/back_in_stock/signups/bulk_notify", json={"ids": ids})
        assert status == 202 and body["accepted_count"] == 50
        job_id = body["job_id"]
        try:
            await wait_for(lambda: _received(gateway, 5), timeout=30, what="the first pushes")
        except AssertionError:
            raise AssertionError(log.read_text()[-3000:]) from None
        first.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(first.wait(), 40)
        assert code == 0
        sent_by_first = sum(gateway.received.values())
        assert sent_by_first < 50  # it stopped mid-job...
        rows = await pool.fetch("SELECT status, error FROM notifications WHERE job_id = $1", uuid.UUID(job_id))
        # ...after finishing what it had started: no send left open or of unknown outcome.
        assert {r["status"] for r in rows} == {"sent"}, [dict(r) for r in rows if r["status"] != "sent"]
        assert len(rows) == sent_by_first
        assert await pool.fetchval("SELECT status FROM jobs WHERE job_id = $1", uuid.UUID(job_id)) != "done"

        second = await start_dispatcher(worker_env, log)
        await wait_for(lambda: _job_done(pool, job_id), timeout=60, what="the job finished by a new dispatcher")
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 40) == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
    # Everybody alerted exactly once.
    assert sum(gateway.received.values()) == 50 and max(gateway.received.values()) == 1
    per_signup = await pool.fetch("SELECT signup_id::text AS id, count(*) AS n, min(status) AS status "
                                  "FROM notifications WHERE job_id = $1 GROUP BY 1", uuid.UUID(job_id))
    assert {r["id"] for r in per_signup} == set(ids)
    assert {(r["n"], r["status"]) for r in per_signup} == {(1, "sent")}


async def push_signups(api, n: int) -> list[str]:
    ids = []
    for i in range(n):
        body = signup_body(channel="push", email=None, push_token=f"tok-{i:04d}")
        status, out, _ = await api.post("/back_in_stock/signups", json=body)
        assert status == 201, out
        ids.append(out["id"])
    return ids


async def start_dispatcher(env: dict[str, str], log_path) -> asyncio.subprocess.Process:
    with open(log_path, "ab") as log:
        return await asyncio.create_subprocess_exec(
            *COMMAND, "dispatcher", "--concurrency", "2", env=process_env({**env, "DISPATCHER_METRICS_PORT": "0"}),
            stdout=log, stderr=log)


async def _received(gateway: SlowGateway, n: int) -> bool:
    return sum(gateway.received.values()) >= n


async def _job_done(pool, job_id: str) -> bool:
    return await pool.fetchval("SELECT status FROM jobs WHERE job_id = $1::uuid", job_id) == "done"
