"""Folding report deltas into the rollups (sql/022_report_deltas.sql): a
report folds its shop first, the dispatcher folds every shop in the background."""
from __future__ import annotations

import uuid
from typing import Any

FOLD = "SELECT report_rollups_fold($1, $2)"
# Delta tables are small (folded every few seconds): a scan is cheap.
PENDING_SHOPS = """
SELECT shop_id FROM report_signup_deltas
UNION
SELECT shop_id FROM report_notification_deltas
"""


async def fold(conn: Any, shop_id: uuid.UUID) -> None:
    """Waits for a fold already running on the shop, so a report reads every
    change committed before it started."""
    await conn.execute(FOLD, shop_id, True)


async def fold_pending(pool: Any) -> int:
    """Folds each shop with deltas in its own short transaction; a shop being
    folded by someone else is skipped (they are doing it). Returns shops folded."""
    folded = 0
    for row in await pool.fetch(PENDING_SHOPS):
        folded += bool(await pool.fetchval(FOLD, row["shop_id"], False))
    return folded
