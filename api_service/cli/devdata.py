"""Operator commands against the development data of `make run`.

With DATABASE_URL unset, `backinstock shops|keys …` use the embedded
PostgreSQL under BACKINSTOCK_DATA_DIR (default .data): the one a running
`backinstock dev` serves, or one started for the command and stopped after
it. `backinstock shell-env` prints the export lines for a running dev."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import sys
import warnings
from contextlib import ExitStack
from pathlib import Path

from api_service.cli import demo
from api_service.cli.output import CliError, PROG
from shared_models.embedded import (data_root, forget_dead_holders, pid_alive, running_postgres_url,
                                    start_postgres)
from shared_models.migrations import migrate

PG_DIR = "pg"


def say(message: str) -> None:
    sys.stderr.write(f"{PROG}: {message}\n")
    sys.stderr.flush()


def attach_database(stack: ExitStack) -> str:
    """The dev database's URL, its server started if need be (and stopped when
    `stack` closes, unless a `backinstock dev` holds it too). Migrated, so a
    first command on fresh data finds its tables."""
    data_dir = data_root()
    pg_dir = data_dir / PG_DIR
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    already = running_postgres_url(pg_dir) is not None
    if not already:
        data_dir.mkdir(parents=True, exist_ok=True)
        forget_dead_holders(pg_dir)
    url, server = start_postgres(pg_dir)
    stack.callback(server.cleanup)
    if already:
        say(f"DATABASE_URL is unset; using the development database under {data_dir} (running)")
    else:
        say(f"DATABASE_URL is unset; using the development database under {data_dir} "
            "(started for this command, stopped after it)")
    # Quietly: the line above is the one this command says about the database.
    migrations_log = logging.getLogger("backinstock.migrate")
    level = migrations_log.level
    migrations_log.setLevel(logging.WARNING)
    try:
        asyncio.run(migrate(url))
    finally:
        migrations_log.setLevel(level)
    return url


def shell_env(args: argparse.Namespace) -> int:
    """`export` lines for the servers of a running `backinstock dev`, for
    `eval "$(make shell-env)"`: DATABASE_URL, REDIS_URL, BACKINSTOCK_API_URL
    SECRET_KEY and BACKINSTOCK_DEV (dev's, so a dispatcher started by hand signs links as
    dev's does). dev records them in dev.json while it runs."""
    data_dir = data_root()
    running = demo.load_state(data_dir).get("running")
    if not isinstance(running, dict) or not isinstance(running.get("pid"), int) \
            or not pid_alive(running["pid"]):
        raise CliError(f"no `backinstock dev` running with its data under {data_dir}: start `make run` first",
                       code=1)
    for name, value in running.get("env", {}).items():
        sys.stdout.write(f"export {name}={shlex.quote(str(value))}\n")
    sys.stdout.flush()
    return 0


def record_running(data_dir: Path, state: dict, env: dict[str, str], api_url: str) -> None:
    # BACKINSTOCK_DEV: a dispatcher started by hand gets dev's console providers too.
    names = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "BACKINSTOCK_DEV")
    state["running"] = {"pid": os.getpid(),
                        "env": {**{n: env[n] for n in names if env.get(n)}, "BACKINSTOCK_API_URL": api_url}}
    demo.save_state(data_dir, state)


def forget_running(data_dir: Path) -> None:
    state = demo.load_state(data_dir)
    if state.pop("running", None) is not None:
        demo.save_state(data_dir, state)
