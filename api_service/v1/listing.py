"""The v1 list: v2's WHERE (signups.queries.where) plus v1's `notified`
filter, which v2 has no equivalent for (v2's status=notified excludes the
unsubscribed), and v1's pages of up to 500."""
from __future__ import annotations

from typing import Any

import asyncpg

from shared_models import listing
from shared_models.signup_states import ALERTED, NOT_ALERTED
from api_service.context import Shop
from api_service.signups import queries

NOTIFIED = {True: ALERTED, False: NOT_ALERTED}  # alerted or not, whatever happened since


async def page(conn: asyncpg.Pool | asyncpg.Connection, shop: Shop, query: dict[str, Any]
                       ) -> tuple[list[asyncpg.Record], int]:
    """One page (query is V1ListQuery's output): rows and the total."""
    w = queries.where(shop.shop_id, query, shop.timezone)
    if query.get("notified") is not None:
        w.clauses.append(NOTIFIED[query["notified"]])
    limit, args = listing.limit_offset(w, query["page"], query["per_page"])
    rows, total, _ = await listing.page_and_count(conn, queries.list_sql(w, limit), args, queries.LIST_FROM, w)
    return rows, total
