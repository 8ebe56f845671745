"""`backinstock migrate`: applies sql/ migrations; a second run applies none."""
from __future__ import annotations

import argparse
import asyncio

from api_service.cli.output import emit
from shared_models.config import Config
from shared_models.migrations import migrate


def run(args: argparse.Namespace) -> int:
    config = Config.from_env()
    applied = asyncio.run(migrate(config.database_url, config.sql_dir))
    emit({"applied": applied})
    return 0
