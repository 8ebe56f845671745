"""`backinstock dispatcher` and `backinstock mcp`: their code arrives with later
issues, so it is imported only when the command runs. The entry points called:
`dispatcher.worker.main(concurrency=N)` (the keyword only when given) and
`mcp_sidecar.server.main(transport=, host=, port=)`."""
from __future__ import annotations

import argparse
import importlib
from typing import Any, Callable

from api_service.cli.output import CliError

DISPATCHER_MODULE = "dispatcher.worker"
MCP_MODULE = "mcp_sidecar.server"


def load_entry(module_name: str, label: str) -> Callable[..., Any]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only the module itself being absent means "later"; a missing
        # dependency inside it is a real error and keeps its traceback.
        if exc.name not in (module_name, module_name.split(".")[0]):
            raise
        raise CliError(f"{label} not available yet") from None
    entry = getattr(module, "main", None)
    if entry is None:
        raise CliError(f"{label} not available yet")
    return entry


def run_dispatcher(args: argparse.Namespace) -> int:
    entry = load_entry(DISPATCHER_MODULE, "dispatcher")
    options = {"concurrency": args.concurrency} if args.concurrency else {}
    return entry(**options) or 0


def run_mcp(args: argparse.Namespace) -> int:
    entry = load_entry(MCP_MODULE, "MCP sidecar")
    return entry(transport=args.transport, host=args.host, port=args.port) or 0
