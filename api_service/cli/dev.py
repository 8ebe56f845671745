"""`backinstock dev`: the whole service on one machine.

Embedded PostgreSQL (.data/pg) and Redis (.data/redis) when DATABASE_URL /
REDIS_URL are unset, migrations, a demo shop and key, the API in-process, then
one JSON line on stdout: {"api_url", "api_key", "docs_url", "mcp_url"}. Logs go
to stderr. Ctrl-C or SIGTERM stops everything; the next run reuses the data.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import warnings
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from aiohttp import web

from api_service.app import create_app
from api_service.cli import demo, devdata
from api_service.cli.output import emit
from api_service.registry import BASE_PATH
from shared_models import aio
from shared_models.config import Config
from shared_models.db import create_pool
from shared_models.embedded import EmbeddedRedis, data_root, start_postgres
from shared_models.migrations import migrate

# Fixed when free, so a client configured once keeps working across runs.
REDIS_PORT = 6390
MCP_PORT = 8090
CHILD_STOP_TIMEOUT = 10.0

log = logging.getLogger("backinstock.dev")


def port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        # As aiohttp binds: a port in TIME_WAIT counts as free, a listener does not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(host: str, preferred: int) -> int:
    if port_is_free(host, preferred):
        return preferred
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def base_url(host: str, port: int) -> str:
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"  # a wildcard bind is reached through loopback
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def start_embedded_postgres(data_dir: Path, stack: ExitStack) -> str:
    log.info("starting embedded PostgreSQL under %s", data_dir)
    # pgserver falls back to /tmp for its socket lock when XDG_RUNTIME_DIR is unset; that is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    url, server = start_postgres(data_dir)

    def stop() -> None:
        log.info("stopping embedded PostgreSQL")
        server.cleanup()

    stack.callback(stop)
    return url


def start_embedded_redis(data_dir: Path, stack: ExitStack) -> str:
    port = REDIS_PORT if port_is_free("127.0.0.1", REDIS_PORT) else None
    server = EmbeddedRedis(data_dir, port=port)
    stack.callback(server.stop)  # registered first: a failed start may leave a process
    url = server.start()
    log.info("embedded Redis on port %d, data under %s", server.port, data_dir)
    return url


# ---------------------------------------------------------------------------
# Dispatcher and MCP sidecar — the place where dev starts them.
# They arrive with later issues. Each is started as a child process through
# this same CLI (so dev runs exactly what `backinstock dispatcher` and
# `backinstock mcp` run) once its module exists; until then dev serves the API
# alone and mcp_url is null.
# ---------------------------------------------------------------------------

def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    # Own session: the terminal's Ctrl-C reaches dev only, which stops children in order.
    # Their stdout goes to our stderr: dev's stdout is the one JSON line.
    return subprocess.Popen([sys.executable, "-m", "api_service.cli", *args], env=env,
                            stdout=sys.stderr, start_new_session=True)


async def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 15.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline and process.poll() is None:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        writer.close()
        return True
    return False


async def start_companions(env: dict[str, str], config: Config, api_url: str,
                           children: list[subprocess.Popen]) -> str | None:
    """Appends what it starts to `children` (stopped by the caller, even after
    an interruption half-way) and returns the MCP sidecar's URL, if any."""
    mcp_url: str | None = None
    # Children log as dev does: text lines for a person, unless LOG_FORMAT says otherwise.
    child_env = {**env, "BACKINSTOCK_API_URL": api_url, "LOG_FORMAT": config.logs.format_for(development=True)}
    if module_exists("dispatcher.worker"):
        # DISPATCHER_METRICS_PORT (9100 unless set) when free, else another; 0: none.
        wanted = config.dispatcher.metrics_port
        metrics_port = pick_port(config.dispatcher.metrics_host, wanted) if wanted else 0
        log.info("starting the dispatcher (metrics on port %s)", metrics_port)
        children.append(spawn(["dispatcher"], {**child_env, "DISPATCHER_METRICS_PORT": str(metrics_port)}))
    if module_exists("mcp_sidecar.server"):
        port = pick_port("127.0.0.1", MCP_PORT)
        log.info("starting the MCP sidecar on port %d", port)
        sidecar = spawn(["mcp", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)], child_env)
        children.append(sidecar)
        if await wait_for_port(port, sidecar):
            mcp_url = base_url("127.0.0.1", port) + "/mcp"
        else:
            log.warning("the MCP sidecar did not come up; going on without it")
    return mcp_url


async def watch_children(children: list[subprocess.Popen]) -> None:
    """A child that dies is reported once; dev keeps serving the API."""
    running = list(children)
    while running:
        await asyncio.sleep(1)
        for child in [c for c in running if c.poll() is not None]:
            command = " ".join(child.args[3:])  # the words after `python -m api_service.cli`
            log.warning("backinstock %s exited with code %s", command, child.returncode)
            running.remove(child)


def stop_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(CHILD_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

# ---------------------------------------------------------------------------


async def wait_for_stop() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")


async def prepare_database(config: Config, state: dict) -> bool:
    """Migrations and the demo shop; True when the shop was just created."""
    applied = await migrate(config.database_url, config.sql_dir)
    log.info("migrations: %s", ", ".join(applied) if applied else "up to date")
    pool = await create_pool(config.database_url, min_size=1, max_size=2)
    try:
        return await demo.ensure_demo_shop(pool, state)
    finally:
        await pool.close()


async def serve(env: dict[str, str], data_dir: Path) -> None:
    state = demo.load_state(data_dir)
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = demo.dev_secret(state)
    config = Config.from_env(env)
    created = await prepare_database(config, state)
    demo.save_state(data_dir, state)

    port = pick_port(config.host, config.port)
    if port != config.port:
        log.warning("port %d is taken; the API uses %d", config.port, port)
        env["PORT"] = str(port)
        config = Config.from_env(env)  # PUBLIC_URL's default follows the port
    runner = web.AppRunner(create_app(config), access_log=None)  # the app logs requests itself
    await runner.setup()
    children: list[subprocess.Popen] = []
    try:
        await web.TCPSite(runner, config.host, port).start()
        api_url = base_url(config.host, port)
        log.info("API on %s", api_url)
        # Seed when the shop is new, or again if an earlier attempt failed.
        if created or state.get("seeded") is False:
            state["seeded"] = await demo.seed_signups(api_url, state["api_key"])
            demo.save_state(data_dir, state)
        mcp_url = await start_companions(env, config, api_url, children)
        devdata.record_running(data_dir, state, env, api_url)  # for `backinstock shell-env`
        emit({"api_url": api_url, "api_key": state["api_key"],
              "docs_url": api_url + BASE_PATH + "/docs", "mcp_url": mcp_url})
        watcher = asyncio.create_task(watch_children(children))
        await wait_for_stop()
        watcher.cancel()
    finally:
        devdata.forget_running(data_dir)
        stop_children(children)
        await runner.cleanup()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM while starting up unwinds like Ctrl-C


def run(args: argparse.Namespace) -> int:
    data_dir = data_root()
    data_dir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)
    env = dict(os.environ)
    # Marks dev and its children: console providers allowed, any SECRET_KEY accepted.
    env["BACKINSTOCK_DEV"] = "1"
    with ExitStack() as stack:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = start_embedded_postgres(data_dir / "pg", stack)
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = start_embedded_redis(data_dir / "redis", stack)
        aio.run(serve(env, data_dir))
    log.info("stopped")
    return 0
