"""Metrics, request ids and structured logs: what an operator sees."""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api_service.app import create_app
from shared_models.log_context import bound
from api_service.observability.logs import make_handler, redact
from api_service.observability.metrics import API_METRICS
from dispatcher.metrics import DispatcherMetrics, serve_metrics
from shared_models.config import Config, ConfigError
from shared_models.embedded import free_port
from shared_models.queue import Queue
from tests.api_process import ApiProcess, cli_json
from tests.dispatch_support import create_signup, finished_job, notify, running_workers, wait_for
from tests.shopify import inventory_update, send_webhook

SCRIPT = Path(sys.executable).parent / "backinstock"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "api_service.cli"]


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a Prometheus text exposition, keyed by (name, labels)."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


class Captured:
    """Log output through the real pipeline (JSON formatter and context
    filter on the root logger), and the raw records next to it."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.records: list[logging.LogRecord] = []

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def raw_text(self) -> str:
        """What the code handed to the logger, before any redaction."""
        return "\n".join(f"{r.getMessage()} {vars(r)!r}" for r in self.records)


class _Keep(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]):
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


@pytest.fixture
def captured_logs() -> Iterator[Captured]:
    captured = Captured()
    root = logging.getLogger()
    handlers = [make_handler("json", captured.stream), _Keep(captured.records)]
    level = root.level
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(level)


# -- API metrics ---------------------------------------------------------------


async def test_api_metrics_count_requests_by_action_and_status(api, client, config):
    assert (await api.get("/back_in_stock/signups"))[0] == 200
    assert (await api.get("/back_in_stock/signups", headers={"X-Auth-Token": "bis_wrong"}))[0] == 401
    assert (await client.get("/api/v2/external/back_in_stock/nothing_here")).status == 404
    assert (await client.get("/t/forged-token-abc123")).status == 404
    assert (await client.get("/healthz")).status == 200

    resp = await client.get("/metrics")  # no key
    assert resp.status == 200 and resp.content_type == "text/plain"
    text = await resp.text()
    found = samples(text)
    assert value(found, "backinstock_api_requests_total", action="back_in_stock_signups_list", status="200") == 1
    assert value(found, "backinstock_api_requests_total", action="back_in_stock_signups_list", status="401") == 1
    assert value(found, "backinstock_api_requests_total", action="unmatched", status="404") == 1
    assert value(found, "backinstock_api_requests_total", action="public", status="404") == 1
    assert value(found, "backinstock_api_requests_total", action="meta", status="200") == 1
    assert value(found, "backinstock_api_request_duration_seconds_count", action="back_in_stock_signups_list") == 2
    # Labels are action names and fixed words, never raw paths.
    assert "forged-token-abc123" not in text and "nothing_here" not in text

    # Each app has its own registry: a second one in this process starts empty.
    other = create_app(config)
    assert other[API_METRICS].registry is not client.app[API_METRICS].registry
    assert other[API_METRICS].registry.get_sample_value(
        "backinstock_api_requests_total", {"action": "meta", "status": "200"}) is None


# -- request ids -----------------------------------------------------------------


async def test_request_id_is_echoed_when_sane_and_generated_otherwise(api, client):
    _, _, resp = await api.get("/back_in_stock/signups", headers={"X-Request-Id": "trace-42.A_b"})
    assert resp.headers["X-Request-Id"] == "trace-42.A_b"
    _, _, resp = await api.get("/back_in_stock/signups")
    generated = resp.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    for insane in ("x" * 65, "has space", "semi;colon", "ünïcode"):
        _, _, resp = await api.get("/back_in_stock/signups", headers={"X-Request-Id": insane})
        assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Request-Id"]), insane
    # On errors and outside the base path too.
    resp = await client.get("/nowhere", headers={"X-Request-Id": "r-404"})
    assert resp.status == 404 and resp.headers["X-Request-Id"] == "r-404"
    resp = await client.get("/healthz", headers={"X-Request-Id": "r-health"})
    assert resp.headers["X-Request-Id"] == "r-health"


async def test_request_id_follows_a_notify_into_the_job_and_the_dispatcher_logs(
        api, pool, shop, config, captured_logs):
    signup = await create_signup(api, shop, email="ann@example.com")
    request_id = f"notify-{uuid.uuid4().hex[:8]}"
    status, body, resp = await api.post(f"/back_in_stock/signups/{signup['id']}/notify", json={},
                                        headers={"X-Request-Id": request_id})
    assert status == 202 and resp.headers["X-Request-Id"] == request_id
    job_id = body["job_id"]
    stored = await pool.fetchval("SELECT request_id FROM jobs WHERE job_id = $1", uuid.UUID(job_id))
    assert stored == request_id

    async with running_workers(config):
        await wait_for(lambda: finished_job(api, job_id), what="notify job done")

    lines = captured_logs.lines()
    access = [line for line in lines if line["logger"] == "backinstock.access" and line.get("status") == 202]
    assert [(a["request_id"], a["action"]) for a in access] == [(request_id, "back_in_stock_signups_notify")]
    assert access[0]["route"].endswith("/signups/{id}/notify") and signup["id"] not in access[0]["message"]
    ran = [line for line in lines if line["logger"] == "backinstock.dispatcher"
           and line.get("job_id") == job_id and line["message"].startswith("run_job")]
    assert ran and all(line["request_id"] == request_id and line["shop_id"] == str(shop.shop_id)
                       for line in ran)


# -- dispatcher metrics ------------------------------------------------------------


async def test_dispatcher_metrics_after_a_notify_job(api, pool, shop, config, redis):
    signup = await create_signup(api, shop, email="ann@example.com")
    job_id = await notify(api, signup["id"])

    # Sampled from PostgreSQL and Redis: the job waits, its queue entry is due.
    queue = Queue(config.redis_url, config.queue_name)
    before = DispatcherMetrics()
    try:
        await before.sample(queue, pool)
    finally:
        await queue.close()
    assert before.registry.get_sample_value("backinstock_jobs", {"status": "queued"}) == 1
    assert before.registry.get_sample_value("backinstock_jobs", {"status": "running"}) == 0
    assert before.registry.get_sample_value("backinstock_queue_depth") >= 1
    assert before.registry.get_sample_value("backinstock_queue_due") >= 1
    assert before.registry.get_sample_value("backinstock_dispatcher_redis_up") == 1

    async with running_workers(config) as [worker]:
        await wait_for(lambda: finished_job(api, job_id), what="notify job done")
        rt = worker.ctx["rt"]
        port = free_port()
        runner = await serve_metrics(rt.metrics, rt.queue, rt.conns.pool, "127.0.0.1", port)
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    assert resp.status == 200
                    found = samples(await resp.text())
        finally:
            await runner.cleanup()
    assert value(found, "backinstock_alerts_total", channel="email", status="sent") == 1
    assert value(found, "backinstock_provider_send_seconds_count", provider="console") == 1
    assert value(found, "backinstock_jobs", status="queued") == 0
    assert value(found, "backinstock_jobs", status="running") == 0
    assert value(found, "backinstock_queue_depth") is not None
    assert value(found, "backinstock_dispatcher_redis_up") == 1


# -- log format ------------------------------------------------------------------------


def test_json_log_lines_carry_context_and_extras():
    stream = io.StringIO()
    handler = make_handler("json", stream)
    logger = logging.getLogger("backinstock.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        with bound({"request_id": "rid-1", "job_id": "job-1"}):
            logger.info("sent %d alerts", 3, extra={"channel": "email"})
            try:
                raise RuntimeError("boom")
            except RuntimeError:
                logger.exception("it failed")
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    first, failed, outside = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["message"] == "sent 3 alerts" and first["level"] == "INFO"
    assert first["logger"] == "backinstock.test.json" and first["channel"] == "email"
    assert (first["request_id"], first["job_id"]) == ("rid-1", "job-1")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
    assert "RuntimeError: boom" in failed["exception"] and failed["level"] == "ERROR"
    assert "request_id" not in outside


def test_text_format_and_redaction():
    stream = io.StringIO()
    handler = make_handler("text", stream)
    record = logging.LogRecord("backinstock.x", logging.INFO, __file__, 1,
                               "key %s via %s", ("bis_0123abcdSECRETpart", "smtp://user:hunter2@mail:587"), None)
    with bound({"request_id": "rid-2"}):
        handler.handle(record)
    line = stream.getvalue()
    assert "INFO backinstock.x:" in line and "[request_id=rid-2]" in line
    assert "SECRETpart" not in line and "hunter2" not in line and "smtp://user:[redacted]@mail:587" in line
    assert redact("https://example.com/path") == "https://example.com/path"


def test_text_lines_leave_out_uvicorns_coloured_copy():
    stream = io.StringIO()
    handler = make_handler("text", stream)
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started server process [%d]", (7,), None)
    record.color_message = "Started server process [\x1b[36m%d\x1b[0m]"
    handler.handle(record)
    assert stream.getvalue().strip().endswith("uvicorn.error: Started server process [7]")


def test_bad_log_settings_are_refused():
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of json, text"):
        Config.from_env({"LOG_FORMAT": "xml"}, required=())
    with pytest.raises(ConfigError, match="LOG_LEVEL must be DEBUG"):
        Config.from_env({"LOG_LEVEL": "loud"}, required=())
    logs = Config.from_env({"LOG_FORMAT": "Text", "LOG_LEVEL": "warning"}, required=()).logs
    assert (logs.format_for(development=False), logs.level) == ("text", logging.WARNING)
    assert Config.from_env({}, required=()).logs.format_for(development=True) == "text"


async def test_cli_logs_json_by_default_and_refuses_a_bad_format(env):
    async def run(extra: dict[str, str]) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            *COMMAND, "migrate", env={**os.environ, **env, **extra},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, err.decode()

    code, err = await run({"LOG_FORMAT": "xml"})
    assert code == 2 and err.strip().splitlines()[-1].startswith("backinstock: LOG_FORMAT must be")
    code, err = await run({"LOG_LEVEL": "DEBUG"})
    assert code == 0
    parsed = [json.loads(line) for line in err.splitlines()]  # every line is one JSON object
    assert parsed and all({"time", "level", "logger", "message"} <= set(p) for p in parsed)


# -- secrets ---------------------------------------------------------------------------------


async def test_no_api_key_or_webhook_secret_in_the_logs_of_a_request_flow(
        api, client, pool, shop, config, captured_logs):
    signup = await create_signup(api, shop, email="ann@example.com", item=7001)
    assert (await api.get("/help"))[0] == 200
    assert (await api.get("/back_in_stock/signups", headers={"X-Auth-Token": shop.api_key + "x"}))[0] == 401
    status, _ = await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5))
    assert status == 200
    status, _ = await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 6),
                                   secret="not-" + shop.webhook_secret)
    assert status == 401
    async with running_workers(config):
        await wait_for(lambda: pool.fetchval(
            "SELECT status = 'sent' FROM notifications WHERE signup_id = $1", uuid.UUID(signup["id"])),
            what="restock alert sent")

    output = captured_logs.stream.getvalue()
    assert len(output.splitlines()) > 5  # the flow was logged at all
    for secret in (shop.api_key, shop.webhook_secret, config.secret_key):
        assert secret not in output
        assert secret not in captured_logs.raw_text()  # not merely masked on the way out


async def test_api_process_logs_json_lines_with_route_templates_not_raw_paths(env, tmp_path):
    shop = cli_json(env, "shops", "create", "--domain", f"logs-{uuid.uuid4().hex[:8]}.myshopify.com")
    api = ApiProcess({**env, "LOG_LEVEL": "INFO"}, tmp_path / "api.log").start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(api.url + "/t/secret-token-xyz", headers={"X-Request-Id": "r-click"}) as resp:
                assert resp.status == 404
            async with http.get(api.url + "/api/v2/external/back_in_stock/signups",
                                headers={"X-Auth-Token": shop["api_key"], "X-Request-Id": "r-list"}) as resp:
                assert resp.status == 200
    finally:
        assert api.stop() == 0
    text = api.log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # JSON by default, one object per line
    access = {line["request_id"]: line for line in lines if line["logger"] == "backinstock.access"}
    assert access["r-click"]["route"] == "/t/{token}" and access["r-click"]["status"] == 404
    assert access["r-list"]["action"] == "back_in_stock_signups_list" and access["r-list"]["status"] == 200
    assert "secret-token-xyz" not in text and shop["api_key"] not in text and shop["webhook_secret"] not in text
