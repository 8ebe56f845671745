"""Real PostgreSQL and Redis for every test.

A template database is migrated once per run; each test gets its own database
cloned from it, made ahead and dropped behind by a thread of its own
(tests/databases.py), and a flushed Redis database. TEST_DATABASE_URL / TEST_REDIS_URL point at running servers;
unset, embedded ones are started under .data/.
"""
from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from api_service.admin import shops as admin
from api_service.app import create_app
from api_service.context import CONNECTIONS
from shared_models.config import Config
from shared_models.embedded import EmbeddedRedis, data_root, start_postgres
from shared_models.migrations import migrate
from tests import leaks
from tests.databases import DatabaseStock, with_database
from tests.stand_ins import PushGatewayStandIn, SmtpStandIn, TwilioStandIn

RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"


def worker_index() -> int:
    """0 serially or on xdist's first worker (gw0), n on gw<n>."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def worker_redis_url(url: str) -> str:
    """Each xdist worker flushes its own Redis database: the URL's db plus the
    worker's index, modulo Redis's 16 databases."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base + worker_index()) % 16}"))


# The slowest measured (--durations, 4 workers on a loaded 2-core machine:
# 5-40 s each), kept here rather than in files others edit; `-m "not slow"`
# leaves them out of the quick loop, and a full run starts them first, so that
# none is still running alone at the end of the run.
SLOW = {
    "test_stall_exports.py": {"*"},
    "test_stall_redis.py": {"test_a_hung_redis_stalls_nobody_and_loses_nothing"},
    "test_dispatch_handover.py": {"test_large_restock_recovers_within_a_minute_of_a_sigkill",
                                  "test_sigkill_leaves_unknown_only_the_calls_in_flight"},
    "test_reports_csv_stream.py": {"test_a_200k_row_csv_streams_in_flat_memory"},
    "test_schemathesis.py": {"*"},
    "test_dispatch_faults.py": {"test_sigkilled_worker_loses_nobody_and_duplicates_nobody"},
    "test_cli.py": {"test_set_plan_domains_and_token_change_the_shop", "test_revoked_key_is_refused_at_once",
                    "test_unknown_shop_is_refused", "test_migrate_applies_everything_once"},
    "test_cli_devdata.py": {"*"},
    "test_customer_tags.py": {"test_no_tags_no_token_no_calls_and_workers_push_on_their_own"},
    "test_conversions.py": {"test_workers_push_tags_on_their_own"},
    "test_shutdown.py": {"test_dispatcher_finishes_its_running_chunk_then_exits_0"},
}

# Tests are marked by what they need, so `-m unit` or `-m "not process"` picks a quick subset.
_PROCESS_HINTS = ("tests.api_process", "create_subprocess", "subprocess.", "dispatcher_process")


def pytest_collection_modifyitems(config, items):
    sources: dict[str, str] = {}
    for item in items:
        path = str(item.path)
        if path not in sources:
            sources[path] = item.path.read_text(errors="replace")
        fixtures = set(getattr(item, "fixturenames", ()))
        slow = SLOW.get(item.path.name, ())
        if "*" in slow or getattr(item, "originalname", item.name) in slow:
            item.add_marker(pytest.mark.slow)
        is_process = any(hint in sources[path] for hint in _PROCESS_HINTS)
        if is_process:
            item.add_marker(pytest.mark.process)
        if "db_url" in fixtures:
            item.add_marker(pytest.mark.db)
        if not is_process and "db_url" not in fixtures:
            item.add_marker(pytest.mark.unit)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: slow first


@pytest_asyncio.fixture(autouse=True)
async def no_leaks():
    """Fails a test that leaves tasks, processes or connections to its
    database running (tests/leaks.py).
    Autouse fixtures are set up first, so this one is torn down last."""
    tasks, children = set(asyncio.all_tasks()), leaks.child_pids()
    yield
    left = await leaks.check_tasks(tasks) + await leaks.check_processes(children)
    left += await _end_test_databases()
    if left:
        pytest.fail("left running after the test:\n  " + "\n  ".join(left), pytrace=False)


def without_tls_on_loopback(url: str) -> str:
    """asyncpg's default sslmode (prefer) builds a TLS context for every new
    connection, CPU the suite's thousands of connections spent for nothing
    on loopback; a URL that names its sslmode keeps it."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1") or "sslmode=" in parts.query:
        return url
    return urlunsplit(parts._replace(query="&".join(filter(None, (parts.query, "sslmode=disable")))))


@pytest.fixture(scope="session")
def pg_base_url():
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield without_tls_on_loopback(url)
        return
    url, server = start_postgres(data_root() / "test-pg")
    yield without_tls_on_loopback(url)


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield worker_redis_url(url)
        return
    # Each xdist worker starts its own (free port); its append-only file needs
    # its own directory. The db number still follows the worker, as above.
    server = EmbeddedRedis(data_root() / f"test-redis-{worker_index()}")
    yield worker_redis_url(server.start())
    server.stop()


@pytest_asyncio.fixture(scope="session")
async def template_db(pg_base_url):
    name = f"bis_tmpl_{RUN_ID}"
    admin_conn = await asyncpg.connect(pg_base_url)
    await admin_conn.execute(f'CREATE DATABASE "{name}"')
    await migrate(with_database(pg_base_url, name))
    yield name
    await admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin_conn.close()


@pytest.fixture(scope="session")
def database_stock(pg_base_url, template_db):
    stock = DatabaseStock(pg_base_url, template_db, f"bis_t_{RUN_ID}")
    yield stock
    stock.close()
    assert not stock.errors, stock.errors


@pytest_asyncio.fixture
async def db_url(pg_base_url, database_stock):
    name = await database_stock.take()
    yield with_database(pg_base_url, name)
    # Ended by no_leaks, torn down after every other fixture: a fixture set
    # up before this one (aiohttp_client) may still hold a pool here.
    _to_end.append((database_stock, name))


_to_end: list[tuple[DatabaseStock, str]] = []


async def _end_test_databases() -> list[str]:
    left = []
    while _to_end:
        stock, name = _to_end.pop()
        left += await stock.end(name)
    return left


@pytest_asyncio.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def env(db_url, redis_url):
    """The environment a process of ours would get (CLI and subprocess tests)."""
    return {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "SECRET_KEY": "test-secret-0123456789abcdef0123456789", "ALLOW_CONSOLE_PROVIDERS": "1",
            "RATE_LIMIT_PER_SECOND": "1000", "RATE_LIMIT_BURST": "1000",
            # Tests that count rate limits exactly must not fail open when this shared,
            # overloaded machine stalls an event loop past the 250 ms production default;
            # tests/test_stall_redis.py sets the default back and tries it on a hung Redis.
            "RATE_LIMIT_REDIS_TIMEOUT_SECONDS": "3"}


@pytest.fixture
def config(env, redis):
    return Config.from_env(env)


@pytest_asyncio.fixture
async def client(config, aiohttp_client):
    return await aiohttp_client(create_app(config))


@pytest.fixture
def pool(client) -> asyncpg.Pool:
    return client.app[CONNECTIONS].pool


@dataclass
class ShopInfo:
    shop_id: uuid.UUID
    domain: str
    plan: str
    api_key: str
    webhook_secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.api_key}


@pytest.fixture
def make_shop(pool):
    """Factory: a shop with one read-write key, created as `backinstock shops create` does."""
    async def factory(plan: str = "free", domain: str | None = None, **kwargs) -> ShopInfo:
        domain = domain or f"shop-{uuid.uuid4().hex[:10]}.myshopify.com"
        out = await admin.create_shop(pool, domain, plan=plan, **kwargs)
        return ShopInfo(uuid.UUID(out["shop_id"]), out["domain"], out["plan"], out["api_key"],
                        out["webhook_secret"])
    return factory


@pytest_asyncio.fixture
async def shop(make_shop) -> ShopInfo:
    return await make_shop()


@pytest.fixture
def api(client, shop):
    """Calls under /api/v2/external with the default shop's key."""
    return Api(client, shop.headers)


class Api:
    base = "/api/v2/external"

    def __init__(self, client, headers: dict[str, str]):
        self.client = client
        self.headers = headers

    def with_key(self, key: str) -> "Api":
        return Api(self.client, {"X-Auth-Token": key})

    async def call(self, method: str, path: str, *, json=None, data=None, params=None, headers=None):
        h = {**self.headers, **(headers or {})}
        resp = await self.client.request(method, self.base + path, json=json, data=data,
                                         params=params, headers=h)
        body = await resp.read()
        try:
            payload = resp.content_type == "application/json" and __import__("json").loads(body)
        except ValueError:
            payload = None
        return resp.status, payload if payload is not False else body.decode(errors="replace"), resp

    async def get(self, path: str, **kw):
        return await self.call("GET", path, **kw)

    async def post(self, path: str, json=None, **kw):
        return await self.call("POST", path, json=json, **kw)

    async def patch(self, path: str, json=None, **kw):
        return await self.call("PATCH", path, json=json, **kw)

    async def delete(self, path: str, **kw):
        return await self.call("DELETE", path, **kw)


@dataclass
class Providers:
    """The delivery stand-ins and the workers' Config pointing at them."""
    config: Config
    smtp: SmtpStandIn
    twilio: TwilioStandIn
    push: PushGatewayStandIn


@pytest_asyncio.fixture
async def providers(env, redis):
    async with SmtpStandIn() as smtp, TwilioStandIn() as twilio, PushGatewayStandIn() as push:
        config = Config.from_env({
            **env, "SMTP_URL": smtp.url, "MAIL_FROM": "Back in stock <alerts@backinstock.test>",
            "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_FROM": "+15005550006", "TWILIO_API_BASE": twilio.base_url,
            "PUSH_GATEWAY_URL": push.url,
        })
        yield Providers(config, smtp, twilio, push)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
