"""`backinstock dev` starts the sidecar over HTTP and prints where it is."""
from __future__ import annotations

import asyncio
import json
import signal
import tempfile

import pytest

from tests.test_mcp_sidecar import COMMAND, REPO, free_port, http_client, read_log, sidecar_env


async def test_dev_prints_a_working_mcp_url(env, tmp_path):
    dev_env = sidecar_env("", **env, PORT=str(free_port()), BACKINSTOCK_DATA_DIR=str(tmp_path))
    del dev_env["BACKINSTOCK_API_URL"]  # dev sets it for its children
    with tempfile.TemporaryFile("w+") as log:
        proc = await asyncio.create_subprocess_exec(*COMMAND, "dev", env=dev_env, cwd=REPO,
                                                    stdout=asyncio.subprocess.PIPE, stderr=log)
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, read_log(log)
            out = json.loads(line)
            assert out["mcp_url"] and out["mcp_url"].endswith("/mcp"), read_log(log)
            async with http_client(out["mcp_url"], out["api_key"]) as mcp:
                names = {t.name for t in (await mcp.list_tools()).tools}
                assert "back_in_stock_signups_list" in names
                listed = await mcp.call_tool("back_in_stock_signups_list", {"per_page": 1})
                assert not listed.is_error, listed.content
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0, read_log(log)
            assert "backinstock mcp --transport http" not in read_log(log)  # no "exited with code" warning
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        if "Traceback" in read_log(log):
            pytest.fail(read_log(log))
