"""The days a report covers, in the shop's timezone, and the WHERE clauses the
filters make on the rollup tables.

Reports count whole days: `from`/`to` given as full timestamps select the day
they fall on in the shop's timezone. Default: the last 30 days, today
included; products_in_demand has no default limit.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from shared_models.errors import Unprocessable
from shared_models.listing import Where


@dataclass(frozen=True)
class Window:
    first: dt.date | None  # None: from the beginning
    last: dt.date | None  # None: no end (products_in_demand without dates)
    tz: str

    @property
    def start(self) -> dt.datetime | None:
        """First instant counted (aware)."""
        if self.first is None:
            return None
        return dt.datetime.combine(self.first, dt.time.min, ZoneInfo(self.tz))

    @property
    def end(self) -> dt.datetime | None:
        """First instant no longer counted (exclusive)."""
        if self.last is None:
            return None
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time.min, ZoneInfo(self.tz))

    @property
    def bounded(self) -> bool:
        return self.first is not None or self.last is not None

    def filename(self, report: str) -> str:
        """<report>-<from>-<to>.csv; "all" stands for a missing bound."""
        first = self.first.isoformat() if self.first else "all"
        last = (self.last or today(self.tz)).isoformat()
        return f"{report}-{first}-{last}.csv"

    def as_json(self) -> dict[str, Any]:
        return {"from": self.first.isoformat() if self.first else None,
                "to": self.last.isoformat() if self.last else None}


def today(tz: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(tz)).date()


def local_day(value: dt.date | dt.datetime | None, tz: str) -> dt.date | None:
    if value is None or not isinstance(value, dt.datetime):
        return value
    return value.astimezone(ZoneInfo(tz)).date()


def resolve(query: dict[str, Any], tz: str, default_days: int | None = 30) -> Window:
    first, last = local_day(query.get("date_from"), tz), local_day(query.get("date_to"), tz)
    if default_days is not None:
        last = last or today(tz)
        first = first or last - dt.timedelta(days=default_days - 1)
    elif first is not None and last is None:
        last = max(today(tz), first)
    if first is not None and last is not None and first > last:
        raise Unprocessable.from_fields({"from": ["Must not be after 'to'."]})
    return Window(first, last, tz)


def rollup_where(shop_id: Any, query: dict[str, Any], window: Window) -> Where:
    """Rows of report_signups_daily / report_notifications_daily for the filters:
    the variant's rows, else its product's (variant_id 0), else the shop's (both 0)."""
    w = Where("shop_id", shop_id)
    variant, product = query.get("variant_id"), query.get("product_id")
    if variant is not None:
        w.add("variant_id = {}", variant)
        if product is not None:
            w.add("product_id = {}", product)
    else:
        w.add("variant_id = {}", 0)
        w.add("product_id = {}", product if product is not None else 0)
    if query.get("channel"):
        w.add("channel = {}", query["channel"])
    if window.first is not None:
        w.add("day >= {}", window.first)
    if window.last is not None:
        w.add("day <= {}", window.last)
    return w
