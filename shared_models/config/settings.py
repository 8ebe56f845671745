"""Config: every environment variable the service reads, in one object. The
settings every process shares are fields of their own; groups read by one part
have a section (config.limits, config.dispatch, config.dispatcher, config.logs,
config.mcp). A value its rule refuses raises ConfigError naming the variable
and the rule; the CLI prints it as one line and exits 2."""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from shared_models.config.rules import (
    ConfigError,
    MissingConfig,
    Var,
    declared,
    flag,
    integer,
    load,
    number,
    section,
    setting,
    text,
    url,
)
from shared_models.config.sections import Dispatch, DispatcherProcess, Limits, Logs, Mcp

MIN_SECRET_BYTES = 32
HTTP = ("http", "https")
TWILIO = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")


@dataclass(frozen=True)
class Config:
    database_url: str = url("DATABASE_URL", "", ("postgresql", "postgres"), shown="—", hidden=True)
    redis_url: str = url("REDIS_URL", "redis://127.0.0.1:6379/0", ("redis", "rediss", "unix"))
    # Signs every link's token (unsubscribe, opt-in, click): a short key makes them guessable offline.
    secret_key: str = text("SECRET_KEY", "", shown="empty", hidden=True)
    host: str = text("HOST", "127.0.0.1")
    port: int = integer("PORT", 8080, 1, 65535)
    # Base of the links in messages; None until from_env: http://HOST:PORT.
    public_url: str = url("PUBLIC_URL", None, HTTP, shown="`http://$HOST:$PORT`")
    # Per API key.
    rate_limit_per_second: float = number("RATE_LIMIT_PER_SECOND", 20.0, above=True)
    rate_limit_burst: int = integer("RATE_LIMIT_BURST", 40, 1)
    db_pool_min: int = integer("DB_POOL_MIN", 1, 0)
    db_pool_max: int = integer("DB_POOL_MAX", 10, 1)
    # API: longest wait for a free pool connection before answering 503.
    db_acquire_timeout_seconds: float = number("DB_ACQUIRE_TIMEOUT_SECONDS", 5.0, above=True)
    # API: concurrent signup creates of a shop written as one statement
    # (api_service/signups/groups.py): members per statement, statements in flight.
    create_group_max: int = integer("CREATE_GROUP_MAX", 128, 1, 1000)
    create_group_writers: int = integer("CREATE_GROUP_WRITERS", 1, 1, 16)
    # CSV exports (api_service/reports/export_slots.py): caps (all shops': half the
    # pool unless set), and how long one chunk may wait for a client that stopped
    # reading before the export is cut (0: no limit).
    export_max_per_shop: int = integer("EXPORT_MAX_PER_SHOP", 2, 1)
    export_max_concurrent: int = integer("EXPORT_MAX_CONCURRENT", None, 1, shown="`DB_POOL_MAX` / 2")
    export_stall_seconds: float = number("EXPORT_STALL_SECONDS", 30.0)
    # API (`backinstock api`): a request's head, then its body, must arrive within these (0: no limit).
    header_timeout_seconds: float = number("HEADER_TIMEOUT_SECONDS", 10.0)
    body_timeout_seconds: float = number("BODY_TIMEOUT_SECONDS", 30.0)
    # API: a rate-limit check waits this long for Redis, then lets the request through.
    rate_limit_redis_timeout_seconds: float = number("RATE_LIMIT_REDIS_TIMEOUT_SECONDS", 0.25, above=True)
    # Providers: each channel's, all unset under `backinstock dev` (the console);
    # the caps are sends per second across all workers (0: none).
    smtp_url: str | None = url("SMTP_URL", None, ("smtp", "smtps"), hidden=True)
    mail_from: str = setting(Var("MAIL_FROM", "email"), "alerts@backinstock.local")
    smtp_max_per_second: float = number("SMTP_MAX_PER_SECOND", 50.0)
    twilio_account_sid: str | None = text("TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = text("TWILIO_AUTH_TOKEN", hidden=True)
    twilio_from: str | None = text("TWILIO_FROM")
    twilio_api_base: str = url("TWILIO_API_BASE", "https://api.twilio.com", HTTP)
    twilio_max_per_second: float = number("TWILIO_MAX_PER_SECOND", 10.0)
    push_gateway_url: str | None = url("PUSH_GATEWAY_URL", None, HTTP)
    # Shopify's Admin API: a stand-in's base (may hold {shop}), the version
    # (YYYY-MM; anything else would build a wrong URL), and how often one
    # dispatcher reconciles connected shops' inventory (0: never).
    shopify_admin_api_base: str | None = url("SHOPIFY_ADMIN_API_BASE", None, HTTP)
    shopify_api_version: str = setting(Var("SHOPIFY_API_VERSION", "pattern", pattern=r"unstable|20\d\d-(01|04|07|10)",
                                           words="YYYY-MM of a Shopify release, or unstable"), "2026-10")
    shopify_reconcile_minutes: float = number("SHOPIFY_RECONCILE_MINUTES", 15.0)
    queue_name: str = text("QUEUE_NAME", "backinstock:queue")
    # Shopify webhooks triggered longer ago than this are refused as replays (0: no limit).
    webhook_replay_window_seconds: float = number("WEBHOOK_REPLAY_WINDOW_SECONDS", 86400.0)
    # Console providers only log messages: only under `backinstock dev`
    # (BACKINSTOCK_DEV=1, which dev sets for its children) or ALLOW_CONSOLE_PROVIDERS=1.
    allow_console_providers: bool = flag("ALLOW_CONSOLE_PROVIDERS")
    dev: bool = flag("BACKINSTOCK_DEV", shown="unset")
    # Where `backinstock migrate` reads migrations (None: the repository's sql/).
    sql_dir: Path | None = setting(Var("BACKINSTOCK_SQL_DIR", "path", shown="the repository's `sql/`"))
    limits: Limits = section(Limits)
    dispatch: Dispatch = section(Dispatch)
    dispatcher: DispatcherProcess = section(DispatcherProcess)
    logs: Logs = section(Logs)
    mcp: Mcp = section(Mcp)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *,
                 required: tuple[str, ...] = ("DATABASE_URL",)) -> "Config":
        """Every variable read from `env` (default: os.environ), whatever the
        process uses of them, so a bad value stops any process at its start.
        `required`: the variables this process cannot run without."""
        env = dict(os.environ if env is None else env)
        for name in required:
            if not env.get(name):
                raise MissingConfig(name)
        values = load(cls, env)
        _check_together(values, required)
        values["public_url"] = (values["public_url"] or f"http://{values['host']}:{values['port']}").rstrip("/")
        if values["export_max_concurrent"] is None:
            values["export_max_concurrent"] = max(1, values["db_pool_max"] // 2)
        values["twilio_api_base"] = values["twilio_api_base"].rstrip("/")
        values["allow_console_providers"] = values["dev"] or values["allow_console_providers"]
        return cls(**values)


def _check_together(values: dict, required: tuple[str, ...]) -> None:
    """Rules between variables, after each one passed its own."""
    if "SECRET_KEY" in required and not values["dev"]:
        size = len(values["secret_key"].encode())
        if size < MIN_SECRET_BYTES:
            raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes outside "
                              f"`backinstock dev`, got {size}")
    if values["db_pool_min"] > values["db_pool_max"]:
        raise ConfigError(f"DB_POOL_MIN must be at most DB_POOL_MAX ({values['db_pool_max']}), "
                          f"got {values['db_pool_min']!r}")
    twilio = [values["twilio_account_sid"], values["twilio_auth_token"], values["twilio_from"]]
    if any(twilio) and not all(twilio):
        # Half a Twilio configuration is a mistake; falling back to the console
        # would silently mark real alerts as sent.
        raise MissingConfig(next(name for name, value in zip(TWILIO, twilio) if not value),
                            "Twilio needs all of " + ", ".join(TWILIO))


def variables() -> Iterator[tuple[Var, str]]:
    """Each variable Config reads, with its default as README's table shows it."""
    for field, var in declared(Config):
        yield var, var.shown or _shown(field.default)


def _shown(default: object) -> str:
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return f"`{int(default)}`"
    if isinstance(default, float):
        return f"`{default:g}`"
    return f"`{default}`"

