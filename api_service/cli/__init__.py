"""The `backinstock` command. Configuration comes from the environment only
(shared_models.config); refusals (a missing or bad variable, a bad plan, a
duplicate shop) are one line on stderr and exit code 2, never a traceback."""
from __future__ import annotations

import argparse
import importlib
from typing import Callable

import asyncpg

from api_service.admin.shops import AdminError
from api_service.cli.output import PROG, CliError, fail_line, setup_logging
from shared_models.config import Config, ConfigError
from shared_models.embedded import EmbeddedUnavailable

EXIT_REFUSED = 2
EXIT_UNAVAILABLE = 1
EXIT_INTERRUPTED = 130


Handler = Callable[[argparse.Namespace], int | None]


def lazy(module: str, function: str) -> Handler:
    """A handler imported when its command runs: `shops create` need not load
    the web app, which keeps operator commands quick."""
    def handler(args: argparse.Namespace) -> int | None:
        return getattr(importlib.import_module(f"api_service.cli.{module}"), function)(args)
    handler.__qualname__ = f"{module}.{function}"
    return handler


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_shop_commands(commands: argparse._SubParsersAction) -> None:
    shops = commands.add_parser("shops", help="create shops and change their plan, domains, token")
    sub = shops.add_subparsers(dest="shops_command", required=True, metavar="COMMAND")

    create = sub.add_parser("create", help="a new shop with one API key; prints them as one JSON line")
    create.add_argument("--domain", required=True, help="the shop's myshopify domain")
    create.add_argument("--plan", default="free")
    create.add_argument("--name")
    create.add_argument("--currency", default="USD", help="ISO 4217 code")
    create.add_argument("--timezone", default="UTC", help="IANA name, e.g. Europe/Berlin")
    create.set_defaults(handler=lazy("admin", "shops_create"))

    set_plan = sub.add_parser("set-plan", help="change a shop's plan")
    set_plan.add_argument("--domain", required=True)
    set_plan.add_argument("--plan", required=True)
    set_plan.set_defaults(handler=lazy("admin", "shops_set_plan"))

    set_domains = sub.add_parser("set-domains", help="storefront domains allowed in product links")
    set_domains.add_argument("--domain", required=True)
    set_domains.add_argument("storefront_domains", nargs="+", metavar="STOREFRONT_DOMAIN")
    set_domains.set_defaults(handler=lazy("admin", "shops_set_domains"))

    set_token = sub.add_parser("set-token", help="the Shopify Admin API token (connect, reconciliation, tags)")
    set_token.add_argument("--domain", required=True)
    set_token.add_argument("--token", required=True)
    set_token.set_defaults(handler=lazy("admin", "shops_set_token"))

    connect = sub.add_parser("connect", help="register our webhook subscriptions on the shop (Admin API); "
                                             "prints what it created, fixed and left")
    connect.add_argument("--domain", required=True)
    connect.set_defaults(handler=lazy("admin", "shops_connect"))

    reinstall = sub.add_parser("reinstall", help="the app is installed again: clear uninstalled_at, send again")
    reinstall.add_argument("--domain", required=True)
    reinstall.set_defaults(handler=lazy("admin", "shops_reinstall"))

    set_id = sub.add_parser("set-shopify-id", help="the shop's numeric Shopify id (shop/redact must name it)")
    set_id.add_argument("--domain", required=True)
    set_id.add_argument("--shopify-id", required=True, type=positive_int)
    set_id.set_defaults(handler=lazy("admin", "shops_set_shopify_id"))


def add_key_commands(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help="create and revoke API keys")
    sub = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")

    create = sub.add_parser("create", help="another API key, printed once as {\"api_key\"}")
    create.add_argument("--domain", required=True)
    create.add_argument("--read-only", action="store_true", help="GET actions only")
    create.set_defaults(handler=lazy("admin", "keys_create"))

    revoke = sub.add_parser("revoke", help="revoke a key by its prefix")
    revoke.add_argument("--domain", required=True)
    revoke.add_argument("--key-prefix", required=True, help="the 8 characters after bis_")
    revoke.set_defaults(handler=lazy("admin", "keys_revoke"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Back-in-stock alerts: API, dispatcher, MCP sidecar and operator commands.",
        epilog="Configuration is read from the environment (DATABASE_URL, REDIS_URL, …); see README.md.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cmd = commands.add_parser("migrate", help="apply sql/ migrations (safe to repeat)")
    cmd.set_defaults(handler=lazy("migrate", "run"))

    cmd = commands.add_parser("api", help="run the HTTP API")
    cmd.add_argument("--host", help="default: HOST or 127.0.0.1")
    cmd.add_argument("--port", type=port_number, help="default: PORT or 8080")
    cmd.set_defaults(handler=lazy("api", "run"))

    cmd = commands.add_parser("dispatcher", help="run one delivery worker")
    cmd.add_argument("--concurrency", type=positive_int, help="jobs run at once by this worker")
    cmd.set_defaults(handler=lazy("workers", "run_dispatcher"))

    cmd = commands.add_parser("mcp", help="run the MCP sidecar")
    cmd.add_argument("--transport", choices=("stdio", "http"), required=True)
    cmd.add_argument("--host", default="127.0.0.1")
    cmd.add_argument("--port", type=port_number, default=8090)
    cmd.set_defaults(handler=lazy("workers", "run_mcp"))

    add_shop_commands(commands)
    add_key_commands(commands)

    cmd = commands.add_parser("dev", help="everything on one machine, embedded PostgreSQL/Redis when unset")
    cmd.set_defaults(handler=lazy("dev", "run"))

    cmd = commands.add_parser("shell-env", help="export lines for the servers of a running `backinstock dev`")
    cmd.set_defaults(handler=lazy("devdata", "shell_env"))
    return parser


def is_development(args: argparse.Namespace, config: Config) -> bool:
    """`dev`, and operator commands on the dev data (DATABASE_URL unset)."""
    return args.command in ("dev", "shell-env") or (args.command in ("shops", "keys")
                                                     and not config.database_url)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        # Every variable, whatever the command: a bad value stops any process
        # here, in one line. Each command then reads what it requires.
        config = Config.from_env(required=())
        # Logs for a person at a terminal; production stays JSON.
        setup_logging(config.logs, development=is_development(args, config))
        return args.handler(args) or 0
    except (ConfigError, AdminError, CliError, EmbeddedUnavailable) as exc:
        fail_line(str(exc))
        return getattr(exc, "code", EXIT_REFUSED)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # A server unreachable or refusing, a port taken: one line, never the
        # URL (it may hold a password; asyncpg's messages do not include it).
        fail_line(f"{type(exc).__name__}: {exc}")
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED

