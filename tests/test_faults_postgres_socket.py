"""PostgreSQL over a unix socket, going away under a running API: its socket
file removed (FileNotFoundError on connect) or left with no one listening
(connection refused). Either is a 503 in the error envelope, as over TCP,
never a 500; and the API recovers once the socket is back.

The socket is a relay the test owns (a unix socket forwarding to the test
server's TCP port), so it can vanish without touching the shared server."""
from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path
from urllib.parse import quote, urlsplit

from api_service.app import create_app
from shared_models.config import Config
from tests.dispatch_support import wait_for

LIST = "/api/v2/external/back_in_stock/signups"


class UnixRelay:
    """A unix socket at <dir>/.s.PGSQL.<port> relaying to PostgreSQL's TCP port."""

    def __init__(self, directory: Path, target: tuple[str, int]):
        self.path = directory / f".s.PGSQL.{target[1]}"
        self.target = target
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_unix_server(self._relay, path=str(self.path))

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def stop(self) -> None:
        """The server gone: listener closed, connections cut, socket file removed."""
        assert self.server is not None
        self.server.close()
        for w in list(self.writers):
            w.close()
        await self.server.wait_closed()
        self.writers.clear()
        self.path.unlink(missing_ok=True)


def unix_url(db_url: str, directory: Path) -> str:
    parts = urlsplit(db_url)
    return f"postgresql://{parts.username}@{parts.path}?host={quote(str(directory))}&port={parts.port or 5432}"


async def assert_503(client, headers) -> None:
    resp = await asyncio.wait_for(client.get(LIST, headers=headers), 15)
    body = await resp.json()
    assert resp.status == 503, (resp.status, body)
    assert list(body) == ["errors"] and "database" in body["errors"][0].lower(), body


async def test_postgres_gone_over_a_unix_socket_is_503(env, redis, shop, db_url, aiohttp_client, tmp_path):
    parts = urlsplit(db_url)
    relay = UnixRelay(tmp_path, (parts.hostname or "127.0.0.1", parts.port or 5432))
    await relay.start()
    config = Config.from_env({**env, "DATABASE_URL": unix_url(db_url, tmp_path)})
    client = await aiohttp_client(create_app(config))
    headers = {"X-Auth-Token": shop.api_key}
    try:
        assert (await client.get(LIST, headers=headers)).status == 200

        await relay.stop()  # socket file gone: connects raise FileNotFoundError
        for _ in range(3):  # the pool's old connections die first, then new ones can't be made
            await assert_503(client, headers)

        squatter = socket.socket(socket.AF_UNIX)  # a socket file no one listens on: refused
        squatter.bind(str(relay.path))
        try:
            for _ in range(2):
                await assert_503(client, headers)
        finally:
            squatter.close()
            relay.path.unlink()

        await relay.start()

        async def recovered() -> bool:
            return (await client.get(LIST, headers=headers)).status == 200

        await wait_for(recovered, timeout=20, what="the API to recover once the socket is back")
    finally:
        await client.close()
        if relay.server is not None and relay.server.is_serving():
            await relay.stop()
