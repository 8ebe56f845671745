"""`backinstock api`: one stateless API process. SIGINT/SIGTERM is a graceful
shutdown: the listening socket closes at once, requests in flight finish
(their bodies still read: aiohttp's own shutdown stops reading the sockets, so
a request still uploading would hang until cut), then cleanup_ctx closes the
pool and Redis."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from aiohttp import web

from api_service.app import create_app
from api_service.http_errors import EnvelopeRunner
from shared_models import aio
from shared_models.config import Config

log = logging.getLogger("backinstock.api")

# Bounded so a stuck client cannot hold a rolling deploy forever.
SHUTDOWN_TIMEOUT = 15.0


def config_with_overrides(host: str | None, port: int | None) -> Config:
    # Through the environment, so PUBLIC_URL's default follows --host/--port.
    env = dict(os.environ)
    if host:
        env["HOST"] = host
    if port:
        env["PORT"] = str(port)
    return Config.from_env(env, required=("DATABASE_URL", "SECRET_KEY"))  # SECRET_KEY signs links


class InFlight:
    """Counts requests being handled, so that shutdown can wait for them."""

    def __init__(self) -> None:
        self.count = 0
        self.draining = False
        self.idle = asyncio.Event()
        self.idle.set()

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        self.count += 1
        self.idle.clear()
        try:
            return await handler(request)
        finally:
            self.count -= 1
            if not self.count:
                self.idle.set()

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        if self.draining:  # the client's next request goes to another process
            response.force_close()
            response.headers["Connection"] = "close"


async def serve(config: Config) -> None:
    app = create_app(config)
    in_flight = InFlight()
    app.middlewares.insert(0, in_flight.middleware)
    app.on_response_prepare.append(in_flight.on_prepare)
    # access_log=None: the app logs each request itself (request id, route
    # template): aiohttp's line would carry raw paths, and links hold tokens.
    runner = EnvelopeRunner(app, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None,
                            header_timeout=config.header_timeout_seconds, body_timeout=config.body_timeout_seconds)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        log.info("Running on %s", site.name)
        await stop.wait()
        log.info("stopping: %d requests in flight", in_flight.count)
        in_flight.draining = True
        await site.stop()  # no new connections
        try:
            await asyncio.wait_for(in_flight.idle.wait(), SHUTDOWN_TIMEOUT)
        except TimeoutError:
            log.warning("%d requests still in flight after %ss, cut", in_flight.count, SHUTDOWN_TIMEOUT)
    finally:
        await runner.cleanup()  # idle keep-alive connections, then cleanup_ctx


def run(args: argparse.Namespace) -> int:
    config = config_with_overrides(args.host, args.port)
    aio.run(serve(config))
    log.info("stopped")
    return 0
