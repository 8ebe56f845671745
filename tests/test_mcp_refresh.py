"""A new action in the registry becomes a tool with no change to the sidecar:
it re-reads /help and tells connected clients the list changed (a listen
stream at 2026-07-28, a list_changed notification on handshake sessions)."""
from __future__ import annotations

import json

import anyio
import pytest
from marshmallow import Schema, fields
from mcp.client.subscriptions import ToolsListChanged
from mcp.types import ToolListChangedNotification
from mcp.types.version import MODERN_PROTOCOL_VERSIONS

from api_service.app import create_app
from api_service.context import Call
from api_service.registry import Action, all_actions
from mcp_sidecar.results import STATUS_META_KEY
from tests.test_mcp_sidecar import TRANSPORTS, mcp_session

FAST_REFRESH = {"BACKINSTOCK_MCP_REFRESH_SECONDS": "0.2"}


class EchoPath(Schema):
    id = fields.String(required=True, metadata={"description": "Any text"})


class EchoBody(Schema):
    words = fields.List(fields.String(), required=True, metadata={"description": "Words to echo"})
    loud = fields.Boolean(load_default=False)


async def echo(call: Call) -> dict:
    words = [w.upper() for w in call.body["words"]] if call.body["loud"] else call.body["words"]
    return {"id": call.path["id"], "words": words, "shop": call.shop.domain}


ECHO = Action(name="test_echo", method="POST", path="/test/echo/{id}", handler=echo,
              description="Echo words back (an action only tests declare).", resource="Echo",
              path_schema=EchoPath, body_schema=EchoBody, notes="Idempotent by nature.", idempotent=True)


@pytest.fixture
async def growing_api(config, aiohttp_server):
    """An API whose /help grows by ECHO when the test appends it to `actions`.
    Its route exists from the start: a running aiohttp app takes no new routes."""
    actions = [*all_actions(), ECHO]
    server = await aiohttp_server(create_app(config, actions=actions))
    actions.remove(ECHO)  # the very list /help reads on each request
    return str(server.make_url("")).rstrip("/"), actions


async def assert_echo_is_a_tool(mcp, shop) -> None:
    tools = {t.name: t for t in (await mcp.list_tools()).tools}
    assert tools["test_echo"].input_schema == json.loads(json.dumps(ECHO.request_schema()))
    assert tools["test_echo"].description == f"{ECHO.description}\n\n{ECHO.notes}"
    assert tools["test_echo"].annotations.idempotent_hint is True
    result = await mcp.call_tool("test_echo", {"id": "a/b c", "words": ["hi"], "loud": True})
    assert not result.is_error, result.content
    assert result.structured_content == {"id": "a/b c", "words": ["HI"], "shop": shop.domain}
    assert result.meta[STATUS_META_KEY] == 200
    refused = await mcp.call_tool("test_echo", {"id": "x"})
    assert refused.is_error and refused.structured_content["fields"] == {"words": ["Missing data for required field."]}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_new_action_is_announced_on_a_listen_stream(transport, growing_api, shop):
    api_url, actions = growing_api
    async with mcp_session(transport, api_url, shop.api_key, env=FAST_REFRESH) as mcp:
        assert mcp.protocol_version in MODERN_PROTOCOL_VERSIONS
        assert mcp.server_capabilities.tools.list_changed is True
        assert "test_echo" not in {t.name for t in (await mcp.list_tools()).tools}
        async with mcp.listen(tools_list_changed=True) as changes:
            actions.append(ECHO)
            with anyio.fail_after(10):
                assert await anext(changes) == ToolsListChanged()
        await assert_echo_is_a_tool(mcp, shop)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_new_action_is_announced_to_handshake_era_clients(transport, growing_api, shop):
    api_url, actions = growing_api
    changed = anyio.Event()

    async def on_message(message) -> None:
        if isinstance(message, ToolListChangedNotification):
            changed.set()

    async with mcp_session(transport, api_url, shop.api_key, env=FAST_REFRESH,
                           mode="legacy", message_handler=on_message) as mcp:
        assert mcp.protocol_version not in MODERN_PROTOCOL_VERSIONS
        assert mcp.server_capabilities.tools.list_changed is True
        assert "test_echo" not in {t.name for t in (await mcp.list_tools()).tools}
        await anyio.sleep(0.5)
        assert not changed.is_set()  # polling an unchanged /help announces nothing
        actions.append(ECHO)
        with anyio.fail_after(10):
            await changed.wait()
        await assert_echo_is_a_tool(mcp, shop)
