"""The `backinstock` CLI, run for real as a subprocess against the per-test database."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from api_service.registry import all_actions
from tests.conftest import with_database

SCRIPT = Path(sys.executable).parent / "backinstock"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "api_service.cli"]
HELP = "/api/v2/external/help"
SHOP_KEYS = {"shop_id", "domain", "plan", "api_key", "webhook_secret"}
# Inherited values of these would leak into "missing variable" tests.
CONFIG_VARS = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "HOST", "PORT", "PUBLIC_URL",
               "ALLOW_CONSOLE_PROVIDERS", "BACKINSTOCK_DEV")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        lines = self.out.splitlines()
        assert len(lines) == 1, self.out
        return json.loads(lines[0])

    def assert_refused(self, *words: str) -> None:
        """Exit 2 with one line on stderr (log lines aside), no traceback."""
        assert self.code == 2, (self.code, self.err)
        assert "Traceback" not in self.err
        lines = [line for line in self.err.splitlines() if line.startswith("backinstock: ")]
        assert len(lines) == 1 and lines[0] == self.err.strip().splitlines()[-1], self.err
        for word in words:
            assert word in lines[0]
        assert self.out == ""


def process_env(env: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    return {**base, **env}


async def cli(env: dict[str, str], *args: str) -> Result:
    proc = await asyncio.create_subprocess_exec(
        *COMMAND, *args, env=process_env(env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return Result(proc.returncode, out.decode(), err.decode())


def new_domain() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}.myshopify.com"


async def create_shop(env: dict[str, str], *extra: str) -> dict:
    result = await cli(env, "shops", "create", "--domain", new_domain(), *extra)
    assert result.code == 0, result.err
    return result.json()


def write_request() -> tuple[str, str, dict]:
    """A write every key may attempt: the delivery settings once that action is
    registered, else cancelling a job (a read-only key is refused before lookup)."""
    if any(a.method == "PATCH" and a.path == "/back_in_stock/settings/delivery" for a in all_actions()):
        return "PATCH", "/api/v2/external/back_in_stock/settings/delivery", {"order": "newest_first"}
    return "POST", f"/api/v2/external/jobs/{uuid.uuid4()}/cancel", {}


async def test_shops_create_prints_one_json_line_and_the_key_works(env, client, pool):
    result = await cli(env, "shops", "create", "--domain", "Cli-Shop.myshopify.com", "--plan", "pro",
                       "--name", "CLI Shop", "--currency", "EUR", "--timezone", "Europe/Berlin")
    assert result.code == 0, result.err
    out = result.json()
    assert set(out) == SHOP_KEYS
    assert out["domain"] == "cli-shop.myshopify.com" and out["plan"] == "pro"
    assert out["api_key"] not in result.err and out["webhook_secret"] not in result.err

    resp = await client.get(HELP, headers={"X-Auth-Token": out["api_key"]})
    assert resp.status == 200
    row = await pool.fetchrow("SELECT * FROM shops WHERE domain = $1", out["domain"])
    assert str(row["shop_id"]) == out["shop_id"]
    assert (row["name"], row["currency"], row["timezone"]) == ("CLI Shop", "EUR", "Europe/Berlin")


async def test_duplicate_domain_is_refused_in_one_line(env):
    domain = new_domain()
    assert (await cli(env, "shops", "create", "--domain", domain)).code == 0
    result = await cli(env, "shops", "create", "--domain", domain)
    result.assert_refused("already exists")


@pytest.mark.parametrize("args, words", [
    (("--plan", "gold"), ("unknown plan",)),
    (("--timezone", "Mars/Olympus"), ("unknown timezone",)),
    (("--currency", "euro"), ("currency",)),
])
async def test_bad_shop_options_are_refused(env, args, words):
    result = await cli(env, "shops", "create", "--domain", new_domain(), *args)
    result.assert_refused(*words)


@pytest.mark.parametrize("args", [
    ("migrate",),
    ("api",),
])
async def test_missing_database_url_is_one_line(args):
    result = await cli({}, *args)
    result.assert_refused("missing required environment variable DATABASE_URL")


async def test_unreachable_database_is_one_line_without_traceback():
    result = await cli({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, "migrate")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert result.err.strip().splitlines()[-1].startswith("backinstock: ")


async def test_unknown_shop_is_refused(env):
    for args in (("keys", "create"), ("shops", "set-plan", "--plan", "pro"),
                 ("shops", "set-token", "--token", "t")):
        result = await cli(env, *args[:2], "--domain", "nobody.myshopify.com", *args[2:])
        result.assert_refused("no shop")


async def test_read_only_key_reads_but_cannot_write(env, client):
    shop = await create_shop(env)
    result = await cli(env, "keys", "create", "--domain", shop["domain"], "--read-only")
    assert result.code == 0, result.err
    out = result.json()
    assert set(out) == {"api_key"}
    headers = {"X-Auth-Token": out["api_key"]}

    assert (await client.get(HELP, headers=headers)).status == 200
    method, path, body = write_request()
    resp = await client.request(method, path, json=body, headers=headers)
    assert resp.status == 403, await resp.text()
    # The shop's read-write key is not refused for being read-only.
    resp = await client.request(method, path, json=body, headers={"X-Auth-Token": shop["api_key"]})
    assert resp.status != 403


async def test_revoked_key_is_refused_at_once(env, client):
    shop = await create_shop(env)
    extra = (await cli(env, "keys", "create", "--domain", shop["domain"])).json()["api_key"]
    headers = {"X-Auth-Token": extra}
    assert (await client.get(HELP, headers=headers)).status == 200

    result = await cli(env, "keys", "revoke", "--domain", shop["domain"], "--key-prefix", extra[4:12])
    assert result.code == 0, result.err
    assert (await client.get(HELP, headers=headers)).status == 401
    assert (await client.get(HELP, headers={"X-Auth-Token": shop["api_key"]})).status == 200

    again = await cli(env, "keys", "revoke", "--domain", shop["domain"], "--key-prefix", extra[4:12])
    again.assert_refused("no active key")


async def test_set_plan_domains_and_token_change_the_shop(env, pool):
    shop = await create_shop(env)
    domain = shop["domain"]

    assert (await cli(env, "shops", "set-plan", "--domain", domain, "--plan", "unlimited")).code == 0
    result = await cli(env, "shops", "set-domains", "--domain", domain, "Shop.Example.com", "www.example.org")
    assert result.code == 0, result.err
    assert result.json()["storefront_domains"] == ["shop.example.com", "www.example.org"]
    result = await cli(env, "shops", "set-token", "--domain", domain, "--token", "shpat_secret_token")
    assert result.code == 0, result.err
    assert "shpat_secret_token" not in result.out + result.err

    row = await pool.fetchrow("SELECT * FROM shops WHERE domain = $1", domain)
    assert row["plan"] == "unlimited"
    assert row["storefront_domains"] == ["shop.example.com", "www.example.org"]
    assert row["shopify_token"] == "shpat_secret_token"

    (await cli(env, "shops", "set-plan", "--domain", domain, "--plan", "gold")).assert_refused("unknown plan")
    (await cli(env, "shops", "set-domains", "--domain", domain, "not a domain")).assert_refused("not a valid domain")


async def test_migrate_applies_everything_once(env, pg_base_url):
    name = f"bis_cli_migrate_{uuid.uuid4().hex[:8]}"
    admin_conn = await asyncpg.connect(pg_base_url)
    await admin_conn.execute(f'CREATE DATABASE "{name}"')
    try:
        fresh = {**env, "DATABASE_URL": with_database(pg_base_url, name)}
        first = await cli(fresh, "migrate")
        assert first.code == 0, first.err
        applied = first.json()["applied"]
        expected = sorted(p.stem for p in (Path(__file__).parent.parent / "sql").glob("[0-9][0-9][0-9]_*.sql"))
        assert applied == expected
        second = await cli(fresh, "migrate")
        assert second.code == 0, second.err
        assert second.json() == {"applied": []}
    finally:
        await admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin_conn.close()


async def test_dispatcher_refuses_missing_configuration():
    (await cli({}, "dispatcher")).assert_refused("DATABASE_URL")


async def test_dispatcher_without_an_email_provider_refuses_outside_dev(env):
    # Issue 13 §8: the console would "send" alerts to the log and count them.
    no_opt_in = {k: v for k, v in env.items() if k != "ALLOW_CONSOLE_PROVIDERS"}
    (await cli(no_opt_in, "dispatcher")).assert_refused("SMTP_URL", "ALLOW_CONSOLE_PROVIDERS")
    (await cli({**no_opt_in, "ALLOW_CONSOLE_PROVIDERS": "0"}, "dispatcher")).assert_refused("SMTP_URL")


@pytest.mark.parametrize("command", [["api"], ["dispatcher"]])
async def test_short_secret_key_is_refused_outside_dev(env, command):
    short = "x" * 31  # 31 bytes: one short of the minimum
    (await cli({**env, "SECRET_KEY": short}, *command)).assert_refused("SECRET_KEY", "32 bytes", "got 31")
    # Counted in bytes: 11 two-byte characters are 22 bytes.
    (await cli({**env, "SECRET_KEY": "é" * 11}, *command)).assert_refused("SECRET_KEY", "got 22")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_api_serves_and_stops_on_sigterm(env):
    shop = await create_shop(env)
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *COMMAND, "api", "--port", str(port), env=process_env(env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            for _ in range(150):
                try:
                    async with http.get(base + "/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert proc.returncode is None, (await proc.stderr.read()).decode()
                await asyncio.sleep(0.1)
            else:
                pytest.fail("the API did not answer /healthz within 15 s")
            async with http.get(base + HELP, headers={"X-Auth-Token": shop["api_key"]}) as resp:
                assert resp.status == 200
            async with http.get(base + HELP) as resp:
                assert resp.status == 401

        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 10)
        err = (await proc.stderr.read()).decode()
        assert code == 0, err
        assert "Traceback" not in err
        assert await proc.stdout.read() == b""  # logs go to stderr
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("name, value", [("DISPATCH_CHUNK_SIZE", "abc"), ("DISPATCH_CHUNK_SIZE", "0"),
                                         ("DISPATCH_LEASE_SECONDS", "-1"), ("DISPATCH_FOLD_SECONDS", "nan")])
async def test_a_bad_dispatcher_tuning_value_is_one_line(env, name, value):
    result = await cli({**env, name: value}, "dispatcher")
    result.assert_refused(name)
    assert "Traceback" not in result.err
