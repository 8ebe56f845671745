"""Issue 13 §5, slow connections, against a real `backinstock api`: raw
sockets that send half a request head, or a head and half a body, and then
nothing. Each is closed once HEADER_TIMEOUT_SECONDS / BODY_TIMEOUT_SECONDS
have passed, a hundred of them at once too, while complete requests on the
same server are answered as usual."""
from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from tests.api_process import ApiProcess
from tests.factories import signup_body

LIMIT = 1.0
HALF_HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
HEAD_THEN_HALF_BODY = (b"POST /api/v2/external/back_in_stock/signups HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"variant_id\": ")
COMPLETE = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture
def api(env, tmp_path):
    process = ApiProcess({**env, "HEADER_TIMEOUT_SECONDS": str(LIMIT), "BODY_TIMEOUT_SECONDS": str(LIMIT)},
                         tmp_path / "api.log")
    try:
        yield process.start()
    finally:
        process.stop()


def connect(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    if data:
        sock.sendall(data)
    return sock


def closed_after(sock: socket.socket, started: float, timeout: float = 10.0) -> float | None:
    """Seconds from `started` until the server closed the socket (None: still open)."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except (TimeoutError, socket.timeout):
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def answered(port: int) -> bytes:
    with connect(port, COMPLETE) as sock:
        sock.settimeout(5)
        return sock.recv(65536)


@pytest.mark.parametrize("data", [b"", HALF_HEAD, HEAD_THEN_HALF_BODY], ids=["nothing", "half head", "half body"])
async def test_a_slow_request_is_closed_after_its_limit(api, data):
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    sock = await loop.run_in_executor(None, connect, api.port, data)
    try:
        took = await loop.run_in_executor(None, closed_after, sock, started)
    finally:
        sock.close()
    assert took is not None and LIMIT * 0.9 < took < LIMIT + 3, took
    assert (await loop.run_in_executor(None, answered, api.port)).startswith(b"HTTP/1.1 200")


async def test_a_hundred_half_sent_requests_are_all_closed_and_others_served(api):
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    sockets = [await loop.run_in_executor(None, connect, api.port, HALF_HEAD if i % 2 else HEAD_THEN_HALF_BODY)
               for i in range(100)]
    try:
        # Meanwhile complete requests are served at once.
        before = time.monotonic()
        assert (await loop.run_in_executor(None, answered, api.port)).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - before < 4.0  # served, not left waiting behind them (4: a loaded CI)
        took = await asyncio.gather(*(loop.run_in_executor(None, closed_after, s, started) for s in sockets))
    finally:
        for sock in sockets:
            sock.close()
    assert all(t is not None and t < LIMIT + 5 for t in took), sorted(took, key=lambda t: t or 1e9)[-3:]


async def test_keep_alive_then_a_half_sent_second_request_is_closed(api):
    loop = asyncio.get_running_loop()

    def exchange() -> tuple[bytes, float | None]:
        with connect(api.port, COMPLETE) as sock:
            sock.settimeout(5)
            first = sock.recv(65536)
            sock.sendall(HALF_HEAD)
            return first, closed_after(sock, time.monotonic())

    first, took = await loop.run_in_executor(None, exchange)
    assert first.startswith(b"HTTP/1.1 200")
    assert took is not None and LIMIT * 0.9 < took < LIMIT + 3, took


async def test_a_body_that_arrives_in_time_is_answered(api, shop):
    body = json.dumps(signup_body(email="slow@example.com")).encode()
    head = (f"POST /api/v2/external/back_in_stock/signups HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {shop.api_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()

    def send() -> bytes:
        with connect(api.port, head + body[:10]) as sock:
            sock.sendall(body[10:])
            sock.settimeout(5)
            return sock.recv(65536)

    reply = await asyncio.get_running_loop().run_in_executor(None, send)
    assert reply.startswith(b"HTTP/1.1 201"), reply[:200]


async def test_a_keyed_request_waiting_on_its_body_is_cut_quietly(api, shop):
    head = HEAD_THEN_HALF_BODY.replace(b"Host: x\r\n", f"Host: x\r\nX-Auth-Token: {shop.api_key}\r\n".encode())
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    sock = await loop.run_in_executor(None, connect, api.port, head)
    try:
        took = await loop.run_in_executor(None, closed_after, sock, started)
    finally:
        sock.close()
    assert took is not None and LIMIT * 0.9 < took < LIMIT + 3, took
    assert (await loop.run_in_executor(None, answered, api.port)).startswith(b"HTTP/1.1 200")
    log = api.log()
    assert "request body not received within 1 s" in log
    assert "Traceback" not in log and '"level": "ERROR"' not in log, log
