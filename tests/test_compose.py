"""docker-compose.yml and the Dockerfile, checked without Docker: the services
are wired as the README says and every command is one the CLI accepts."""
from __future__ import annotations

import argparse
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from api_service.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "api", "dispatcher", "mcp")


@pytest.fixture(scope="module")
def services() -> dict:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def as_argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def check_cli_command(argv: list[str]) -> None:
    """`backinstock <sub> [<subsub>] …`: each level exists and the whole line parses."""
    assert argv[0] == "backinstock", argv
    parser = build_parser()
    words = [w for w in argv[1:] if not w.startswith("-")]
    level = subcommands(parser)
    for word in words:
        if not level:
            break
        assert word in level, f"{argv}: no subcommand {word!r}; have {sorted(level)}"
        level = subcommands(level[word])
    try:
        parser.parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"backinstock rejects {argv[1:]}")


def test_services_exist(services):
    assert set(services) >= {"postgres", "redis", *APP_SERVICES}
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_run_a_backinstock_command(services, name):
    service = services[name]
    assert "build" in service or str(service.get("image", "")).startswith("backinstock")
    check_cli_command(as_argv(service["command"]))


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_get_their_configuration(services, name):
    env = services[name]["environment"]
    for variable in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PUBLIC_URL"):
        assert env.get(variable), f"{name} lacks {variable}"
    assert "@postgres:" in env["DATABASE_URL"] and "//redis:" in env["REDIS_URL"]
    # Either required from the operator or an obvious dev default; never empty.
    assert re.fullmatch(r"\$\{SECRET_KEY(:\?|:-).+\}", env["SECRET_KEY"])


def test_dispatcher_can_be_scaled(services):
    dispatcher = services["dispatcher"]
    assert "container_name" not in dispatcher
    for port in dispatcher.get("ports", []):
        assert ":" not in str(port), f"fixed host port {port} blocks --scale"
    assert dispatcher["command"][:2] == ["backinstock", "dispatcher"]


def test_startup_order(services):
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"]
    api_deps = services["api"]["depends_on"]
    assert api_deps["migrate"]["condition"] == "service_completed_successfully"
    assert "redis" in api_deps
    assert services["migrate"].get("restart", "no") == "no"  # runs once
    assert "8080" in str(services["api"]["ports"])


def test_mcp_talks_to_the_api(services):
    mcp = services["mcp"]
    assert mcp["environment"]["BACKINSTOCK_API_URL"] == "http://api:8080"
    argv = as_argv(mcp["command"])
    assert argv[argv.index("--transport") + 1] == "http"
    assert argv[argv.index("--port") + 1] == "8090"
    assert "api" in mcp["depends_on"]


def test_dockerfile_installs_the_project(dockerfile):
    lines = [line.strip() for line in dockerfile.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    assert re.search(r"^COPY \. ", dockerfile, re.M), "the tree (sql/ included) is copied"
    assert re.search(r"pip install (-e )?\.(\s|$)", dockerfile)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    cmd = [line for line in lines if line.startswith("CMD ")][-1]
    argv = json.loads(cmd[len("CMD "):])
    assert argv[:2] == ["backinstock", "api"] and "0.0.0.0" in argv
    check_cli_command(argv)
