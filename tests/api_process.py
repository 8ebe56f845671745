"""`backinstock api` (and other CLI commands) as real subprocesses, for the
tests that need a separate process: schemathesis, SIGTERM and friends."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from shared_models.embedded import free_port

SCRIPT = Path(sys.executable).parent / "backinstock"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "api_service.cli"]
# Inherited values of these would point the process somewhere else.
CONFIG_VARS = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "HOST", "PORT", "PUBLIC_URL",
               "ALLOW_CONSOLE_PROVIDERS", "BACKINSTOCK_DEV")


def process_env(env: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    return {**base, **env}


def cli_json(env: dict[str, str], *args: str) -> dict:
    """Runs `backinstock <args>` to completion and returns its one JSON line."""
    out = subprocess.run([*COMMAND, *args], env=process_env(env), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


class ApiProcess:
    """`backinstock api --port <free port>`; stderr goes to a file for post-mortems."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "ApiProcess":
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([*COMMAND, "api", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=process_env(self.env), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"api exited with {self.proc.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"api not up after {timeout}s: {self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"api did not stop within {timeout}s of SIGTERM: {self.log()}")
