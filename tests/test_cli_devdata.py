"""With DATABASE_URL unset, `backinstock shops|keys` use the data of `make run`
(BACKINSTOCK_DATA_DIR): real processes, embedded PostgreSQL and Redis."""
from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import tempfile
from pathlib import Path

import aiohttp
import asyncpg
import psutil

from tests.test_cli import COMMAND, cli, free_port, new_domain, process_env

HELP = "/api/v2/external/help"


def dev_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {"BACKINSTOCK_DATA_DIR": str(data_dir), **extra}


def postgres_serving(data_dir: Path) -> list[psutil.Process]:
    """The embedded server's processes for this data directory."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and str(data_dir / "pg") in cmdline:
            found.append(proc)
    return found


def the_one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


async def test_commands_start_and_stop_the_dev_database_when_nothing_runs(tmp_path):
    env = dev_env(tmp_path)
    created = await cli(env, "shops", "create", "--domain", (domain := new_domain()))
    assert created.code == 0, created.err
    shop = created.json()
    assert shop["domain"] == domain and shop["api_key"].startswith("bis_")
    line = the_one_line(created.err)
    assert "DATABASE_URL is unset" in line and str(tmp_path) in line and "started" in line
    assert postgres_serving(tmp_path) == []  # stopped after the command

    # Same data the next time: the shop is there for a second key.
    key = await cli(env, "keys", "create", "--domain", domain, "--read-only")
    assert key.code == 0, key.err
    assert key.json()["api_key"].startswith("bis_")
    assert "development database" in the_one_line(key.err)
    assert postgres_serving(tmp_path) == []

    refused = await cli(env, "keys", "create", "--domain", new_domain())
    assert refused.code == 2 and refused.out == "" and "Traceback" not in refused.err
    assert "no shop" in refused.err.splitlines()[-1]
    assert postgres_serving(tmp_path) == []


async def test_commands_use_the_running_dev_and_shell_env_prints_its_servers(tmp_path):
    port = free_port()
    env = dev_env(tmp_path, PORT=str(port), DISPATCHER_METRICS_PORT=str(free_port()))
    with tempfile.TemporaryFile("w+") as log:
        dev = await asyncio.create_subprocess_exec(*COMMAND, "dev", env=process_env(env),
                                                   stdout=asyncio.subprocess.PIPE, stderr=log)
        try:
            line = await asyncio.wait_for(dev.stdout.readline(), 120)
            log.seek(0)
            assert line, log.read()
            started = json.loads(line)

            key = await cli(env, "keys", "create", "--domain", "demo-shop.myshopify.com", "--read-only")
            assert key.code == 0, key.err
            assert "(running)" in the_one_line(key.err)
            assert postgres_serving(tmp_path), "dev's server outlives the command"
            api_key = key.json()["api_key"]
            # dev's server outlived the command and the new key works on dev's API.
            async with aiohttp.ClientSession(headers={"X-Auth-Token": api_key}) as http:
                async with http.get(started["api_url"] + HELP) as resp:
                    assert resp.status == 200

            shell = await cli(env, "shell-env")
            assert shell.code == 0, shell.err
            exports = dict(shlex.split(line)[1].split("=", 1) for line in shell.out.splitlines())
            assert set(exports) == {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "BACKINSTOCK_DEV", "BACKINSTOCK_API_URL"}
            assert exports["BACKINSTOCK_API_URL"] == started["api_url"]
            conn = await asyncpg.connect(exports["DATABASE_URL"])
            try:
                assert await conn.fetchval("SELECT count(*) FROM shops WHERE domain = $1",
                                           "demo-shop.myshopify.com") == 1
            finally:
                await conn.close()
            host, redis_port = exports["REDIS_URL"].split("//")[1].split("/")[0].split(":")
            _, writer = await asyncio.open_connection(host, int(redis_port))
            writer.close()

            # Logs for a person: text lines, not JSON, unless LOG_FORMAT says otherwise.
            log.seek(0)
            first = log.readline()
            assert first and not first.startswith("{"), first
        finally:
            if dev.returncode is None:
                dev.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(dev.wait(), 60)
                except TimeoutError:
                    dev.kill()
                    await dev.wait()
    assert dev.returncode == 0
    assert postgres_serving(tmp_path) == []
    gone = await cli(env, "shell-env")
    assert gone.code == 1 and "make run" in gone.err and gone.out == ""


async def test_without_the_dev_extra_the_refusal_names_it(tmp_path):
    # A Python that cannot import pgserver, as in the container image.
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "pgserver.py").write_text("raise ImportError('not installed')\n")
    path = os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")])
    result = await cli(dev_env(tmp_path / "data", PYTHONPATH=path), "shops", "create", "--domain", new_domain())
    result.assert_refused("dev extra", "DATABASE_URL")
