"""The MCP sidecar for real: the API on a port, `backinstock mcp` as a process,
driven by the MCP SDK's own client over stdio and over streamable HTTP."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import tempfile
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, IO

import aiohttp
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult
from mcp.types.version import MODERN_PROTOCOL_VERSIONS

from mcp_sidecar.results import STATUS_META_KEY

SCRIPT = Path(sys.executable).parent / "backinstock"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "api_service.cli"]
REPO = Path(__file__).resolve().parent.parent
# Inherited values would point the sidecar somewhere else.
SIDECAR_VARS = ("BACKINSTOCK_API_URL", "BACKINSTOCK_API_KEY", "BACKINSTOCK_MCP_REFRESH_SECONDS",
                "DATABASE_URL", "REDIS_URL", "SECRET_KEY")
TRANSPORTS = ["stdio", "http"]
SIGNUP = {"variant_id": 4242, "product_id": 42, "channel": "email",
          "customer": {"email": "mcp-shopper@example.com", "name": "Shopper"}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def api_root(client) -> str:
    return str(client.make_url("")).rstrip("/")


def sidecar_env(api_url: str, key: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SIDECAR_VARS}
    env["BACKINSTOCK_API_URL"] = api_url
    if key is not None:
        env["BACKINSTOCK_API_KEY"] = key
    return {**env, **extra}


def read_log(log: IO[str]) -> str:
    log.seek(0)
    return log.read()


@dataclass
class HttpSidecar:
    url: str
    process: asyncio.subprocess.Process
    log: IO[str]


@asynccontextmanager
async def http_sidecar(api_url: str, **extra: str) -> AsyncIterator[HttpSidecar]:
    """`backinstock mcp --transport http` on a free port; SIGTERM on the way out."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        proc = await asyncio.create_subprocess_exec(
            *COMMAND, "mcp", "--transport", "http", "--port", str(port),
            env=sidecar_env(api_url, **extra), stdout=log, stderr=log, cwd=REPO)
        try:
            for _ in range(150):
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    assert proc.returncode is None, read_log(log)
                    await asyncio.sleep(0.1)
            else:
                pytest.fail(f"the sidecar did not listen within 15 s:\n{read_log(log)}")
            yield HttpSidecar(f"http://127.0.0.1:{port}/mcp", proc, log)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


@asynccontextmanager
async def http_client(url: str, key: str | None, *, bearer: bool = False, **client_kwargs: Any) -> AsyncIterator[Client]:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"} if bearer else {"X-Auth-Token": key}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(url, http_client=http), **client_kwargs) as client:
            yield client


@asynccontextmanager
async def stdio_mcp(api_url: str, key: str, **client_kwargs: Any) -> AsyncIterator[Client]:
    """The SDK's stdio client spawning `backinstock mcp --transport stdio`,
    with only the variables an MCP host's config would give it."""
    params = StdioServerParameters(
        command=COMMAND[0], args=[*COMMAND[1:], "mcp", "--transport", "stdio"], cwd=REPO,
        env={"BACKINSTOCK_API_URL": api_url, "BACKINSTOCK_API_KEY": key,
             # Which code runs (a worktree's, not the installed one's): not a host's setting.
             **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ},
             **client_kwargs.pop("env", {})})
    with tempfile.TemporaryFile("w+") as log:
        try:
            async with Client(stdio_client(params, errlog=log), **client_kwargs) as client:
                yield client
        except BaseException:
            sys.stderr.write(f"sidecar stderr:\n{read_log(log)}\n")
            raise


@asynccontextmanager
async def mcp_session(transport: str, api_url: str, key: str, **client_kwargs: Any) -> AsyncIterator[Client]:
    if transport == "stdio":
        async with stdio_mcp(api_url, key, **client_kwargs) as client:
            yield client
    else:
        extra = client_kwargs.pop("env", {})
        async with http_sidecar(api_url, **extra) as sidecar, http_client(sidecar.url, key, **client_kwargs) as client:
            yield client


def text_of(result: CallToolResult) -> str:
    assert len(result.content) == 1 and result.content[0].type == "text", result.content
    return result.content[0].text


async def http_call(api, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
    status, _, resp = await api.call(method, path, **kwargs)
    return status, await resp.text()


def assert_same(result: CallToolResult, status: int, body: str) -> None:
    """The tool answered what the HTTP call answered: status, body text, JSON."""
    assert result.meta is not None and result.meta[STATUS_META_KEY] == status, (result, status, body)
    assert result.is_error == (status >= 400)
    assert text_of(result) == body
    if body.startswith("{"):
        assert result.structured_content == json.loads(body)
    else:
        assert result.structured_content is None


# ---------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tools_are_help_actions_with_identical_schemas(transport, client, shop, api):
    status, help_json, _ = await api.get("/help")
    assert status == 200
    async with mcp_session(transport, api_root(client), shop.api_key) as mcp:
        assert mcp.protocol_version in MODERN_PROTOCOL_VERSIONS
        tools = (await mcp.list_tools()).tools
    assert [t.name for t in tools] == [a["name"] for a in help_json["actions"]]
    for tool, action in zip(tools, help_json["actions"]):
        assert tool.input_schema == action["request_schema"], tool.name
        assert tool.description.startswith(action["description"])
        assert (action["notes"] in tool.description) if action["notes"] else tool.description == action["description"]
        assert tool.annotations.read_only_hint is (action["method"] == "GET")
        assert tool.annotations.idempotent_hint is action["idempotent"]
        if action["method"] != "GET":
            assert tool.annotations.destructive_hint is action["destructive"]


@pytest.mark.parametrize("transport, mode", [("stdio", "auto"), ("http", "auto"),
                                             ("stdio", "legacy"), ("http", "legacy")])
async def test_a_sequence_of_calls_answers_like_http(transport, mode, client, shop, api):
    async with mcp_session(transport, api_root(client), shop.api_key, mode=mode) as mcp:
        # Create: 201 from the tool; the same request over HTTP finds that signup (200).
        created = await mcp.call_tool("back_in_stock_signups_create", SIGNUP)
        assert not created.is_error, text_of(created)
        assert created.meta[STATUS_META_KEY] == 201
        status, body = await http_call(api, "POST", "/back_in_stock/signups", json=SIGNUP)
        assert status == 200 and json.loads(body) == created.structured_content
        signup_id = created.structured_content["id"]
        missing_id = str(uuid.uuid4())

        steps: list[tuple[str, dict[str, Any], str, str, dict[str, Any]]] = [
            ("back_in_stock_signups_read", {"id": signup_id},
             "GET", f"/back_in_stock/signups/{signup_id}", {}),
            ("back_in_stock_signups_list", {"per_page": 10, "status": "pending"},
             "GET", "/back_in_stock/signups", {"params": {"per_page": "10", "status": "pending"}}),
            ("back_in_stock_settings_delivery_update", {"order": "newest_first", "batch_interval_minutes": 5},
             "PATCH", "/back_in_stock/settings/delivery",
             {"json": {"order": "newest_first", "batch_interval_minutes": 5}}),
            # Valid for the schema, refused by the API: its 422 comes through as is.
            ("back_in_stock_settings_delivery_update", {"reminders": {"after_days": [5, 3]}},
             "PATCH", "/back_in_stock/settings/delivery", {"json": {"reminders": {"after_days": [5, 3]}}}),
            ("back_in_stock_signups_read", {"id": missing_id},
             "GET", f"/back_in_stock/signups/{missing_id}", {}),
            # CSV as text (or, while reports are pending, the API's error as is).
            ("back_in_stock_reports_signups", {"format": "csv", "granularity": "day"},
             "GET", "/back_in_stock/reports/signups", {"params": {"format": "csv", "granularity": "day"}}),
        ]
        for name, arguments, method, path, kwargs in steps:
            result = await mcp.call_tool(name, arguments)
            status, body = await http_call(api, method, path, **kwargs)
            assert_same(result, status, body)

        refused = await mcp.call_tool("back_in_stock_settings_delivery_update", {"reminders": {"after_days": [5, 3]}})
        assert refused.is_error and refused.meta[STATUS_META_KEY] == 422
        assert "reminders.after_days" in refused.structured_content["fields"]
        missing = await mcp.call_tool("back_in_stock_signups_read", {"id": missing_id})
        assert missing.is_error and missing.structured_content == {"errors": ["Signup not found"]}

        deleted = await mcp.call_tool("back_in_stock_signups_delete", {"id": signup_id})
        assert not deleted.is_error and deleted.meta[STATUS_META_KEY] == 204
        assert (await api.get(f"/back_in_stock/signups/{signup_id}"))[0] == 404


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_arguments_that_miss_the_schema_are_tool_errors(transport, client, shop):
    async with mcp_session(transport, api_root(client), shop.api_key) as mcp:
        wrong_type = await mcp.call_tool("back_in_stock_signups_list", {"per_page": "ten"})
        unknown = await mcp.call_tool("back_in_stock_signups_list", {"bogus": 1})
        missing = await mcp.call_tool("back_in_stock_signups_create", {"channel": "email"})
        no_tool = await mcp.call_tool("back_in_stock_frobnicate", {})
        still_fine = await mcp.call_tool("back_in_stock_signups_list", {"per_page": 5})
    assert wrong_type.is_error and list(wrong_type.structured_content["fields"]) == ["per_page"]
    assert json.loads(text_of(wrong_type)) == wrong_type.structured_content
    assert unknown.is_error and unknown.structured_content["fields"] == {"bogus": ["Unknown field."]}
    assert missing.is_error
    assert missing.structured_content["fields"]["variant_id"] == ["Missing data for required field."]
    assert no_tool.is_error and "back_in_stock_frobnicate" in no_tool.structured_content["errors"][0]
    assert not still_fine.is_error and still_fine.structured_content["meta"]["per_page"] == 5


async def test_http_needs_a_key_and_takes_each_requests_own(client, shop, make_shop):
    other = await make_shop()
    async with http_sidecar(api_root(client)) as sidecar:
        async with aiohttp.ClientSession() as http:
            async with http.post(sidecar.url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}) as resp:
                assert resp.status == 401
                assert (await resp.json())["errors"][0].startswith("Missing API key")
        # The SDK's client, keyless, gets no further than the 401.
        statuses: list[int] = []

        async def record(response: httpx2.Response) -> None:
            statuses.append(response.status_code)

        async with httpx2.AsyncClient(event_hooks={"response": [record]}) as keyless:
            with pytest.raises(Exception):
                async with Client(streamable_http_client(sidecar.url, http_client=keyless)) as mcp:
                    await mcp.list_tools()
        assert statuses and set(statuses) == {401}

        async with http_client(sidecar.url, shop.api_key, bearer=True) as mcp:
            mine = await mcp.call_tool("back_in_stock_signups_create", SIGNUP)
            assert mine.meta[STATUS_META_KEY] == 201
        # Another shop's key, same sidecar: that shop's view, not the first one's.
        async with http_client(sidecar.url, other.api_key) as mcp:
            listed = await mcp.call_tool("back_in_stock_signups_list", {})
            assert listed.structured_content["meta"]["total_count"] == 0
            theirs = await mcp.call_tool("back_in_stock_signups_read", {"id": mine.structured_content["id"]})
            assert theirs.is_error and theirs.meta[STATUS_META_KEY] == 404
        async with http_client(sidecar.url, "bis_not_a_real_key") as mcp:
            bad = await mcp.call_tool("back_in_stock_signups_list", {})
            assert bad.is_error and bad.meta[STATUS_META_KEY] == 401

        sidecar.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(sidecar.process.wait(), 15) == 0
        assert "Traceback" not in read_log(sidecar.log)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_unreachable_api_is_a_tool_error_not_a_crash(transport, config, shop, aiohttp_server):
    from api_service.app import create_app

    server = await aiohttp_server(create_app(config))
    async with mcp_session(transport, str(server.make_url("")).rstrip("/"), shop.api_key) as mcp:
        assert (await mcp.list_tools()).tools
        await server.close()  # the API goes away under the sidecar
        result = await mcp.call_tool("back_in_stock_signups_list", {})
        assert result.is_error and "could not reach the API" in result.structured_content["errors"][0]
        assert STATUS_META_KEY not in (result.meta or {})
        # The sidecar is still there and still knows its tools.
        assert (await mcp.list_tools()).tools
        again = await mcp.call_tool("back_in_stock_settings_read", {})
        assert again.is_error


async def test_an_api_never_reached_fails_the_listing_but_not_the_sidecar(shop):
    closed = f"http://127.0.0.1:{free_port()}"
    async with mcp_session("stdio", closed, shop.api_key) as mcp:
        with pytest.raises(MCPError, match="could not reach the API"):
            await mcp.list_tools()
        result = await mcp.call_tool("back_in_stock_signups_list", {})
        assert result.is_error and "could not reach the API" in result.structured_content["errors"][0]


async def test_stdio_without_its_variables_is_refused_in_one_line():
    proc = await asyncio.create_subprocess_exec(
        *COMMAND, "mcp", "--transport", "stdio", env={k: v for k, v in os.environ.items() if k not in SIDECAR_VARS},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().strip().splitlines()[-1] == \
        "backinstock: missing required environment variable BACKINSTOCK_API_URL"
    assert out == b""
