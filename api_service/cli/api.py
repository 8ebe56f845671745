"""`backinstock api`: one stateless API process; run_app turns SIGINT/SIGTERM
into a graceful shutdown (in-flight requests finish, then cleanup_ctx closes
the pool and Redis)."""
from __future__ import annotations

import argparse
import logging
import os

from aiohttp import web

from api_service.app import create_app
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


def _banner(text: str) -> None:
    # run_app's "======== Running on … ========" banner, as a log line on stderr.
    log.info("%s", text.splitlines()[0].strip("= "))


def run(args: argparse.Namespace) -> int:
    config = config_with_overrides(args.host, args.port)
    # access_log=None: the app logs each request itself, with its request id
    # and the route's template rather than the raw path (links carry tokens).
    web.run_app(create_app(config), host=config.host, port=config.port,
                print=_banner, shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None)
    log.info("stopped")
    return 0
