"""Configuration, read from the environment only."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field


class MissingConfig(Exception):
    """A required environment variable is unset; the CLI prints it as one line."""

    def __init__(self, name: str):
        super().__init__(f"missing required environment variable {name}")
        self.name = name


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise MissingConfig(f"{name} (must be an integer, got {raw!r})") from None


def _float(env: dict, name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise MissingConfig(f"{name} (must be a number, got {raw!r})") from None


def _flag(env: dict, name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise MissingConfig(f"{name} (must be 1 or 0, got {raw!r})")


MIN_SECRET_BYTES = 32


def _check_secret(secret: str) -> None:
    """A short key makes every signed link (unsubscribe, opt-in, click) guessable offline."""
    size = len(secret.encode())
    if size < MIN_SECRET_BYTES:
        raise MissingConfig(f"SECRET_KEY (must be at least {MIN_SECRET_BYTES} bytes outside "
                            f"`backinstock dev`, got {size})")


def _api_version(raw: str) -> str:
    """Shopify's versions are YYYY-MM (or `unstable`); anything else would build a wrong URL."""
    if raw == "unstable" or re.fullmatch(r"20\d\d-(01|04|07|10)", raw):
        return raw
    raise MissingConfig(f"SHOPIFY_API_VERSION (must be YYYY-MM of a Shopify release, got {raw!r})")


@dataclass(frozen=True)
class Config:
    database_url: str
    redis_url: str
    secret_key: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    rate_limit_per_second: float = 20.0
    rate_limit_burst: int = 40
    db_pool_min: int = 1
    db_pool_max: int = 10
    # API: longest wait for a free pool connection before answering 503.
    db_acquire_timeout_seconds: float = 5.0
    # CSV exports (api_service/reports/export_slots.py): caps, and how long one
    # chunk may wait for a client that stopped reading before the export is cut.
    export_max_per_shop: int = 2
    export_max_concurrent: int = 5
    export_stall_seconds: float = 30.0
    # API (`backinstock api`): a request's head, then its body, must arrive within these.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    # API: a rate-limit check waits this long for Redis, then lets the request through.
    rate_limit_redis_timeout_seconds: float = 0.25
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = "alerts@backinstock.local"
    smtp_max_per_second: float = 50.0
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_from: str | None = None
    twilio_api_base: str = "https://api.twilio.com"
    twilio_max_per_second: float = 10.0
    push_gateway_url: str | None = None
    shopify_admin_api_base: str | None = None
    shopify_api_version: str = "2026-10"
    # How often one dispatcher reconciles connected shops' inventory with Shopify (0: never).
    shopify_reconcile_minutes: float = 15.0
    queue_name: str = "backinstock:queue"
    # Shopify webhooks triggered longer ago than this are refused as replays (0: no limit).
    webhook_replay_window_seconds: float = 86400.0
    # Console providers only log messages: only under `backinstock dev`
    # (BACKINSTOCK_DEV=1, which dev sets for its children) or ALLOW_CONSOLE_PROVIDERS=1.
    allow_console_providers: bool = False
    dev: bool = False

    @classmethod
    def from_env(cls, env: dict | None = None, *, required: tuple[str, ...] = ("DATABASE_URL",)) -> "Config":
        env = dict(os.environ if env is None else env)
        for name in required:
            if not env.get(name):
                raise MissingConfig(name)
        dev = _flag(env, "BACKINSTOCK_DEV")
        if "SECRET_KEY" in required and not dev:
            _check_secret(env.get("SECRET_KEY") or "")
        port = _int(env, "PORT", 8080)
        host = env.get("HOST") or "127.0.0.1"
        return cls(
            database_url=env.get("DATABASE_URL", ""),
            redis_url=env.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
            secret_key=env.get("SECRET_KEY") or "",
            host=host,
            port=port,
            public_url=(env.get("PUBLIC_URL") or f"http://{host}:{port}").rstrip("/"),
            rate_limit_per_second=_float(env, "RATE_LIMIT_PER_SECOND", 20.0),
            rate_limit_burst=_int(env, "RATE_LIMIT_BURST", 40),
            db_pool_min=_int(env, "DB_POOL_MIN", 1),
            db_pool_max=_int(env, "DB_POOL_MAX", 10),
            db_acquire_timeout_seconds=_float(env, "DB_ACQUIRE_TIMEOUT_SECONDS", 5.0),
            export_max_per_shop=_int(env, "EXPORT_MAX_PER_SHOP", 2),
            export_max_concurrent=_int(env, "EXPORT_MAX_CONCURRENT", max(1, _int(env, "DB_POOL_MAX", 10) // 2)),
            export_stall_seconds=_float(env, "EXPORT_STALL_SECONDS", 30.0),
            header_timeout_seconds=_float(env, "HEADER_TIMEOUT_SECONDS", 10.0),
            body_timeout_seconds=_float(env, "BODY_TIMEOUT_SECONDS", 30.0),
            rate_limit_redis_timeout_seconds=_float(env, "RATE_LIMIT_REDIS_TIMEOUT_SECONDS", 0.25),
            smtp_url=env.get("SMTP_URL") or None,
            mail_from=env.get("MAIL_FROM") or "alerts@backinstock.local",
            smtp_max_per_second=_float(env, "SMTP_MAX_PER_SECOND", 50.0),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_from=env.get("TWILIO_FROM") or None,
            twilio_api_base=(env.get("TWILIO_API_BASE") or "https://api.twilio.com").rstrip("/"),
            twilio_max_per_second=_float(env, "TWILIO_MAX_PER_SECOND", 10.0),
            push_gateway_url=env.get("PUSH_GATEWAY_URL") or None,
            shopify_admin_api_base=env.get("SHOPIFY_ADMIN_API_BASE") or None,
            shopify_api_version=_api_version(env.get("SHOPIFY_API_VERSION") or "2026-10"),
            shopify_reconcile_minutes=_float(env, "SHOPIFY_RECONCILE_MINUTES", 15.0),
            queue_name=env.get("QUEUE_NAME") or "backinstock:queue",
            webhook_replay_window_seconds=_float(env, "WEBHOOK_REPLAY_WINDOW_SECONDS", 86400.0),
            allow_console_providers=dev or _flag(env, "ALLOW_CONSOLE_PROVIDERS"),
            dev=dev,
        )
