"""Caps on the CSV exports one API process streams at once (issue 13 §5).

An export holds a pool connection for as long as its client reads. Per shop
(EXPORT_MAX_PER_SHOP) and over the process (EXPORT_MAX_CONCURRENT, by default
half the pool) so one tenant's exports, stalled or not, can never hold every
connection: above either cap the export is `429` + `Retry-After` before any
connection is taken. Counted in-process: the pool being protected is this
process's own."""
from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from typing import Iterator

from aiohttp import web

from shared_models.errors import TooManyRequests


class ExportSlots:
    def __init__(self, per_shop: int, total: int):
        self.per_shop = per_shop
        self.total = total
        self.running: Counter[uuid.UUID] = Counter()

    @contextlib.contextmanager
    def slot(self, shop_id: uuid.UUID) -> Iterator[None]:
        if self.running[shop_id] >= self.per_shop:
            raise TooManyRequests(f"At most {self.per_shop} CSV exports of a shop run at once, retry later",
                                  headers={"Retry-After": "5"})
        if sum(self.running.values()) >= self.total:
            raise TooManyRequests("Too many CSV exports are running, retry later", headers={"Retry-After": "5"})
        self.running[shop_id] += 1
        try:
            yield
        finally:
            self.running[shop_id] -= 1
            if not self.running[shop_id]:
                del self.running[shop_id]


EXPORT_SLOTS = web.AppKey("export_slots", ExportSlots)
