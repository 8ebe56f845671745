"""Issue 13 §5, CSV exports: clients that open a multi-MB export of one shop
and stop reading, against a real `backinstock api`. Above the caps they get
`429`; while the others stall, another shop's calls and /readyz answer within
a second; after EXPORT_STALL_SECONDS without progress the stalled exports are
cut (their sockets closed, their connections back in the pool, the shop's
export slots free again)."""
from __future__ import annotations

import asyncio
import socket
import time

import aiohttp

from tests.timing import assert_responsive
from tests.api_process import ApiProcess
from tests.test_reports_csv_stream import SEED_CUSTOMER, SEED_SIGNUPS, SEED_VARIANTS

ROWS = 200_000  # about 14 MB of CSV: far more than the socket buffers (4 MB at most here) hold
STALL = 4.0
PATH = "/api/v2/external/back_in_stock/reports/products_in_demand?format=csv"
SMALL = PATH + "&variant_id=10000001"
BUSY = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
  AND state <> 'idle'
"""


def open_stalled_export(port: int, key: str) -> socket.socket:
    """Sends the request, then reads only the status line: the client stalls."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Auth-Token: {key}\r\n\r\n".encode())
    return sock


def status_of(sock: socket.socket) -> int:
    sock.settimeout(60)
    head = sock.recv(12)
    assert head.startswith(b"HTTP/1.1 "), head
    return int(head[9:12])


def drained_until_closed(sock: socket.socket, timeout: float) -> int | None:
    """Reads whatever is buffered: its size once the server closed the connection, else None."""
    sock.settimeout(timeout)
    size = 0
    try:
        while chunk := sock.recv(1 << 20):
            size += len(chunk)
    except (TimeoutError, socket.timeout):
        return None
    except ConnectionResetError:
        pass
    return size


async def test_stalled_exports_never_stall_another_shop(env, pool, make_shop, tmp_path):
    exporter, other = await make_shop(plan="pro"), await make_shop(plan="pro")
    customer = await pool.fetchval(SEED_CUSTOMER, exporter.shop_id)
    await pool.execute(SEED_VARIANTS, exporter.shop_id, ROWS, timeout=600)
    await pool.execute(SEED_SIGNUPS, exporter.shop_id, ROWS, customer, timeout=600)
    await pool.execute("ANALYZE", timeout=600)  # what autovacuum does after a bulk load
    api = ApiProcess({**env, "DB_POOL_MAX": "4", "EXPORT_MAX_PER_SHOP": "2", "EXPORT_MAX_CONCURRENT": "2",
                      "EXPORT_STALL_SECONDS": str(STALL)}, tmp_path / "api.log")
    sockets: list[socket.socket] = []
    try:
        api.start()
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession(headers={"X-Auth-Token": exporter.api_key}) as http:
            async with http.get(api.url + SMALL) as resp:  # folds the shop's rollups once
                assert resp.status == 200 and (await resp.read()).count(b"\n") == 2
        for _ in range(4):
            sockets.append(await loop.run_in_executor(None, open_stalled_export, api.port, exporter.api_key))
        statuses = [await loop.run_in_executor(None, status_of, s) for s in sockets]
        assert sorted(statuses) == [200, 200, 429, 429], statuses
        stalled = [s for s, status in zip(sockets, statuses) if status == 200]
        stalled_at = time.monotonic()

        # While the two exports stall: the other shop's calls, and /readyz, answer fast.
        times = []
        async with aiohttp.ClientSession(headers={"X-Auth-Token": other.api_key}) as http:
            while time.monotonic() - stalled_at < STALL * 0.6:
                for url in (api.url + "/api/v2/external/back_in_stock/signups",
                            api.url + "/api/v2/external/back_in_stock/reports/summary", api.url + "/readyz"):
                    started = time.monotonic()
                    async with http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                        assert resp.status == 200, (url, resp.status, await resp.text())
                    times.append(time.monotonic() - started)
            assert_responsive(times, what="another shop's calls")
            assert await pool.fetchval(BUSY) >= 2  # the two exports are still running

            # Cut after STALL seconds without progress: their connections are released
            # (the clients never read meanwhile: reading would be progress)...
            deadline = time.monotonic() + STALL + 10
            while await pool.fetchval(BUSY) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert await pool.fetchval(BUSY) == 0
            assert time.monotonic() - stalled_at > STALL
            # ...their sockets closed with most of the CSV unsent...
            for sock in stalled:
                got = await loop.run_in_executor(None, drained_until_closed, sock, 5)
                assert got is not None and got < ROWS * 40, got
            # ...and the shop's export slots free again.
            async with http.get(api.url + SMALL,
                                headers={"X-Auth-Token": exporter.api_key}) as resp:
                assert resp.status == 200
                assert (await resp.read()).count(b"\n") == 2
        assert "CSV export" in api.log() and "stopped after it started" in api.log()
    finally:
        for sock in sockets:
            sock.close()
        api.stop()
