"""The one configuration (shared_models.config): every variable with its type,
rule and default; a bad value refused in one line naming the variable and the
rule, by the loader and by every command; README's table is Config's; nothing
else reads the environment."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from shared_models.config import Config, ConfigError, MissingConfig, Var, variables
from shared_models.migrations import SQL_DIR
from tests.test_cli import cli

VARIABLES = {var.name: var for var, _ in variables()}
# Free text: any value is a value (names, hosts, secrets checked elsewhere).
FREE_TEXT = {"SECRET_KEY", "HOST", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "QUEUE_NAME",
             "DISPATCHER_METRICS_HOST", "BACKINSTOCK_API_KEY"}
# Reading the environment is the config package's job; only a development
# helper outside the service's configuration reads it itself.
DEV_ONLY_READS = {"shared_models/embedded.py": "BACKINSTOCK_DATA_DIR"}


def bad_values(var: Var) -> list[str]:
    """Values the rule refuses: a wrong type, and each side of the range."""
    if var.kind in ("integer", "number"):
        values = ["abc", "1.5" if var.kind == "integer" else "nan"]
        values.append(f"{var.low:g}" if var.above else f"{var.low - 1:g}")
        if var.high is not None:
            values.append(f"{var.high + 1:g}")
        return values
    return {"flag": ["maybe"], "choice": ["bogus"], "url": ["not a url", "ftp://example.com/x"],
            "email": ["nobody"], "path": ["/nonexistent/backinstock-sql"], "level": ["loud"],
            "pattern": ["2026-13", "latest"]}[var.kind]


BAD = [(name, value) for name, var in VARIABLES.items() if var.kind != "text" for value in bad_values(var)]


@pytest.mark.parametrize("name, value", BAD)
def test_a_bad_value_is_refused_naming_the_variable_and_its_rule(name, value):
    with pytest.raises(ConfigError) as refused:
        Config.from_env({name: value}, required=())
    assert str(refused.value) == f"{name} must be {VARIABLES[name].rule}, got {value!r}"
    assert "\n" not in str(refused.value)


def test_only_free_text_has_no_rule():
    assert {name for name, var in VARIABLES.items() if var.kind == "text"} == FREE_TEXT
    assert all(VARIABLES[name].rule for name, _ in BAD)


def test_unset_and_empty_are_the_defaults():
    unset = Config.from_env({}, required=())
    assert Config.from_env({name: "" for name in VARIABLES}, required=()) == unset
    assert Config() == dataclasses.replace(unset, public_url=None, export_max_concurrent=None)
    assert unset.public_url == "http://127.0.0.1:8080" and unset.export_max_concurrent == 5


def test_the_edges_of_each_range_are_accepted():
    edges = {name: f"{var.low:g}" for name, var in VARIABLES.items()
             if var.kind in ("integer", "number") and not var.above}
    edges.update({name: f"{var.high:g}" for name, var in VARIABLES.items() if var.high is not None})
    config = Config.from_env(edges, required=())
    assert (config.port, config.dispatcher.metrics_port, config.dispatcher.redis_grace_seconds) == (65535, 65535, 86400)
    assert config.export_stall_seconds == 0 and config.dispatch.chunk_size == 1


def test_values_are_typed_and_flags_and_choices_forgiving():
    config = Config.from_env({
        "DISPATCH_CHUNK_SIZE": "7", "DISPATCH_RETRY_DELAY": "0.01", "ALLOW_CONSOLE_PROVIDERS": "true",
        "LOG_FORMAT": "TEXT", "LOG_LEVEL": "debug", "BACKINSTOCK_SQL_DIR": str(SQL_DIR),
        "PUBLIC_URL": "https://alerts.example.com/", "SHOPIFY_API_VERSION": "unstable",
        "REDIS_URL": "unix:///run/redis.sock", "MAIL_FROM": "Alerts <a@example.com>"}, required=())
    assert config.dispatch.chunk_size == 7 and config.dispatch.retry_delay == 0.01
    assert config.allow_console_providers is True and config.logs.format == "text" and config.logs.level == 10
    assert config.sql_dir == SQL_DIR and config.public_url == "https://alerts.example.com"


def test_several_bad_values_are_still_one_line():
    with pytest.raises(ConfigError) as refused:
        Config.from_env({"DISPATCH_CHUNK_SIZE": "abc", "PORT": "0"}, required=())
    assert str(refused.value) == ("PORT must be an integer from 1 to 65535, got '0'; "
                                  "DISPATCH_CHUNK_SIZE must be an integer of at least 1, got 'abc'")


def test_rules_between_variables():
    with pytest.raises(ConfigError, match=r"DB_POOL_MIN must be at most DB_POOL_MAX \(2\), got 3"):
        Config.from_env({"DB_POOL_MIN": "3", "DB_POOL_MAX": "2"}, required=())
    with pytest.raises(MissingConfig, match="TWILIO_FROM .*all of TWILIO_ACCOUNT_SID"):
        Config.from_env({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}, required=())
    with pytest.raises(ConfigError, match="SECRET_KEY must be at least 32 bytes"):
        Config.from_env({"DATABASE_URL": "postgresql://h/db", "SECRET_KEY": "short"},
                        required=("DATABASE_URL", "SECRET_KEY"))
    dev = Config.from_env({"DATABASE_URL": "postgresql://h/db", "SECRET_KEY": "short", "BACKINSTOCK_DEV": "1"},
                          required=("DATABASE_URL", "SECRET_KEY"))
    assert dev.allow_console_providers and dev.secret_key == "short"
    with pytest.raises(MissingConfig, match="^missing required environment variable DATABASE_URL$"):
        Config.from_env({"DATABASE_URL": ""})


def test_secrets_stay_out_of_repr():
    config = Config.from_env({"DATABASE_URL": "postgresql://u:pw1@h/db", "SECRET_KEY": "s3cret" * 6,
                              "SMTP_URL": "smtp://u:pw2@mail:25", "TWILIO_ACCOUNT_SID": "AC1",
                              "TWILIO_AUTH_TOKEN": "tok3n", "TWILIO_FROM": "+15005550006"})
    for secret in ("pw1", "s3cret", "pw2", "tok3n"):
        assert secret not in repr(config)


# -- README -------------------------------------------------------------------------------------

def readme_tables(repo_root: Path) -> list[dict[str, str]]:
    """The Configuration section's tables: variable → its default cell."""
    readme = (repo_root / "README.md").read_text()
    section = readme[readme.index("## Configuration"):readme.index("## Commands")]
    tables: list[dict[str, str]] = []
    for block in re.split(r"\n\s*\n", section):
        rows = [line for line in block.splitlines() if line.startswith("| `")]
        if not rows:
            continue
        table: dict[str, str] = {}
        for row in rows:
            names_cell, default_cell = (cell.strip() for cell in row.strip("|").split("|")[:2])
            names = re.findall(r"`([A-Z][A-Z0-9_]+)`", names_cell)
            defaults = default_cell.split(" / ") if len(names) > 1 else [default_cell]
            assert len(defaults) == len(names), row
            table.update(zip(names, defaults))
        tables.append(table)
    return tables


def test_readme_lists_every_variable_with_its_default_and_no_other(repo_root):
    service, development = readme_tables(repo_root)
    assert list(service) == list(dict.fromkeys(service))  # each once
    assert set(service) == set(VARIABLES)
    for var, shown in variables():
        assert service[var.name].startswith(shown), (var.name, service[var.name], shown)
    assert not set(development) & set(VARIABLES)


def test_no_module_reads_the_environment_but_the_config(repo_root):
    reads = re.compile(r"os\.environ(\.get|\[)|getenv\(")
    found = []
    for package in ("api_service", "dispatcher", "shared_models", "mcp_sidecar"):
        for path in sorted((repo_root / package).rglob("*.py")):
            where = path.relative_to(repo_root).as_posix()
            if where.startswith("shared_models/config/"):
                continue
            for line in path.read_text().splitlines():
                if reads.search(line) and DEV_ONLY_READS.get(where, "\0") not in line:
                    found.append(f"{where}: {line.strip()}")
    assert found == []


# -- every command refuses in one line ------------------------------------------------------------

# Unreachable on purpose: a command that went past the configuration would fail otherwise (exit 1).
NOWHERE = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "REDIS_URL": "redis://127.0.0.1:1/0",
           "SECRET_KEY": "k" * 32, "ALLOW_CONSOLE_PROVIDERS": "1", "BACKINSTOCK_API_URL": "http://127.0.0.1:1"}


@pytest.mark.parametrize("command, name, value", [
    (["migrate"], "DISPATCH_CHUNK_SIZE", "abc"),
    (["migrate"], "BACKINSTOCK_SQL_DIR", "/nonexistent/backinstock-sql"),
    (["api"], "STOREFRONT_SHOP_RATE_BURST", "0"),
    (["api"], "PORT", "http"),
    (["dispatcher"], "DISPATCHER_METRICS_PORT", "70000"),
    (["dispatcher"], "SMTP_URL", "mail.example.com"),
    (["mcp", "--transport", "http", "--port", "1"], "BACKINSTOCK_MCP_TIMEOUT_SECONDS", "-1"),
    (["shops", "create", "--domain", "x.myshopify.com"], "REDIS_URL", "http://127.0.0.1:1"),
    (["keys", "revoke", "--domain", "x.myshopify.com", "--key-prefix", "abcdefgh"], "LOG_FORMAT", "xml"),
])
async def test_every_command_refuses_a_bad_value_in_one_line(command, name, value):
    result = await cli({**NOWHERE, name: value}, *command)
    result.assert_refused()
    assert result.err.strip().splitlines()[-1] == \
        f"backinstock: {name} must be {VARIABLES[name].rule}, got {value!r}"
