"""Keeps the report rollups close to current: every worker folds the pending
report deltas every DISPATCH_FOLD_SECONDS (folds of one shop take turns in
PostgreSQL, so workers never fold the same deltas twice)."""
from __future__ import annotations

import asyncio
import logging

import asyncpg

from dispatcher.runtime import Runtime
from shared_models.rollups import fold_pending

log = logging.getLogger("backinstock.rollups")


async def fold_forever(rt: Runtime) -> None:
    while True:
        try:
            await fold_pending(rt.conns.pool)
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("folding report deltas failed, retried next round: %s", exc)
        except Exception:
            log.exception("folding report deltas failed")
        await asyncio.sleep(rt.tuning.fold_seconds)
