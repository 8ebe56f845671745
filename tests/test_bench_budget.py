"""bench/budget.py's parts: the API's samples go to the right stage, the
budget's arithmetic, and the bare server answers as the API does."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp

from bench import budget, profile
from shared_models.embedded import free_port

# As py-spy writes them: a library's file relative to its sys.path entry, C frames with --native.
LOOP_ROOT = ["<module> (api_service/cli/__main__.py:4)", "run (shared_models/aio.py:21)",
             "Runner.run (asyncio/runners.py:118)", "run_forever (loop.c:33192)", "uv_run (core.c:452)"]


def stack(*frames: str) -> str:
    return ";".join([*LOOP_ROOT, *frames])


def test_a_sample_goes_to_the_stage_of_its_innermost_named_frame():
    handle = "_handle_request (aiohttp/web_protocol.py:452)"
    middleware = "with_request_id (api_service/observability/request_ids.py:40)"
    route = "handler (api_service/routing.py:200)"
    raw = "\n".join([
        stack(handle, middleware, route, "load (marshmallow/schema.py:700)") + " 5",
        stack(handle, middleware, route, "create (api_service/signups/groups.py:130)",
              "create_task (asyncio/tasks.py:374)", "task_new (_asynciomodule.c:2100)") + " 3",
        stack(handle, middleware, route, "write (aiohttp/http_writer.py:80)", "__send (libc.so.6)") + " 2",
        stack(handle, middleware) + " 4",  # the log line's middleware, nothing deeper
        stack(route) + " 1",
        ";".join([*LOOP_ROOT, "epoll_wait (libc.so.6)"]) + " 7",  # the loop itself, in C
        "garbage line",
    ])
    got = profile.stages(raw)
    assert got == {"validation (marshmallow schemas, phone numbers)": 5,
                   "group write (coalescer, asyncpg encode and decode)": 3,
                   "HTTP in Python (aiohttp: routing, request and response objects)": 2,
                   "request log line and metrics": 4,
                   "the rest of our request path (middleware, auth, idempotency, hooks)": 1,
                   profile.LOOP: 7,
                   profile.SYSCALLS: 9}  # an overlay: the write's 2 and the loop's 7


def test_frame_path_reads_py_spys_raw_frames():
    assert profile.frame_path("load (marshmallow/schema.py:700)") == "marshmallow/schema.py"
    assert profile.frame_path("run_forever (loop.c:33192)") == "loop.c"
    assert profile.frame_path("<lambda> (api_service/app.py:12)") == "api_service/app.py"
    assert profile.frame_path("process 123") == ""


def result(stages) -> dict:
    def runs(rate):
        return [{"per_second": rate, "p99_ms": 20.0, "count": 1}]
    return {"scale": 0.05, "clients": 32, "cores": 2, "load_average_end": 0.5,
            "creates": {"runs": runs(2000.0), "cpu_ms": {"api": 0.3, "postgres": 0.2, "postgres server": 0.0,
                                                         "bench client": 0.1}},
            "floor": {"runs": runs(10_000.0), "cpu_ms": {"api": 0.0, "postgres": 0.12, "postgres server": 0.01,
                                                         "bench client": 0.05}},
            "bare_http": {"runs": runs(8000.0), "cpu_ms": {"api": 0.05, "postgres": 0.0, "postgres server": 0.0,
                                                           "bench client": 0.1}},
            "api_stages": stages}


def test_the_budget_is_the_cores_over_the_goals_rate_and_names_what_is_left():
    out = budget.render(result({"validation (marshmallow schemas, phone numbers)": 30, profile.LOOP: 70,
                                profile.SYSCALLS: 40}))
    # 2 cores / (0.40 x 10,000/s) = 0.5 ms per create; a create costs 0.6 ms (2 cores: 3,333/s, 0.33 of the floor)
    assert "allow 0.500 ms of CPU per create in all; a create costs 0.600 ms" in out
    assert "ceiling: 3,333/s, 0.33 of the floor" in out
    # client 0.1 + PostgreSQL 0.2 + bare HTTP 0.05 = 0.35; left 0.15; the API spends 0.25 beyond HTTP
    assert "= 0.350 ms" in out and "at the goal: 0.150 ms; it spends 0.250 ms beyond HTTP alone" in out
    assert f"| {profile.LOOP} | 70% | 0.210 |" in out
    assert "| validation (marshmallow schemas, phone numbers) | 30% | 0.090 |" in out
    assert f"| of all these, in {profile.SYSCALLS} | 40% | 0.120 |" in out


def test_without_a_profile_the_budget_says_why():
    assert "not measured (py-spy is not installed" in budget.render(result("py-spy is not installed (pip install py-spy)"))
    assert budget.stage_rows(result("py-spy failed")) == "py-spy failed"


async def test_the_bare_server_answers_a_create_as_the_api_does():
    port = free_port()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.bare_api", "--port", str(port),
                                                cwd=Path(__file__).resolve().parent.parent)
    try:
        url = f"http://127.0.0.1:{port}"
        await budget.BenchEnv.wait_healthy(url)
        async with aiohttp.ClientSession(url) as session:
            async with session.post("/api/v2/external/back_in_stock/signups", json={"variant_id": 1}) as resp:
                assert resp.status == 201
                assert (await resp.json())["status"] == "pending"
            async with session.post("/api/v2/external/back_in_stock/signups", data=b"[1]") as resp:
                assert resp.status == 422
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) in (0, -15)
