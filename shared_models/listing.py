"""What every list shares: page parameters, date filters, WHERE building, meta."""
from __future__ import annotations

import asyncio
import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

EXACT_COUNT_LIMIT = 10_000
# Days at the calendar's ends can't be shifted to UTC, or to the next day's
# start (`to` is inclusive), without overflowing Python's datetime.
FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(9998, 12, 31)


class DateOrTimestamp(fields.Field):
    """`YYYY-MM-DD` (a day in the shop's timezone) or a full ISO 8601 timestamp,
    between FIRST_DAY and LAST_DAY."""

    default_error_messages = {"invalid": "Must be a date (YYYY-MM-DD) or an ISO 8601 timestamp.",
                              "range": "Must be between 1970-01-01 and 9998-12-31."}

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("metadata", {})
        # "type" is read by apispec (OpenAPI), "jsonschema" by /help's converter.
        kwargs["metadata"].setdefault("type", "string")
        kwargs["metadata"].setdefault(
            "jsonschema", {"type": "string", "description": "YYYY-MM-DD or ISO 8601 timestamp"})
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.date | dt.datetime:
        if not isinstance(value, str) or len(value) > 40:
            raise self.make_error("invalid")
        try:
            parsed: dt.date | dt.datetime = (dt.date.fromisoformat(value) if len(value) == 10
                                             else dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            raise self.make_error("invalid") from None
        day = parsed.date() if isinstance(parsed, dt.datetime) else parsed
        if not FIRST_DAY <= day <= LAST_DAY:
            raise self.make_error("range")
        if isinstance(parsed, dt.datetime) and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        return parsed


def day_start(value: dt.date | dt.datetime, tz: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time.min, ZoneInfo(tz))


def day_end(value: dt.date | dt.datetime, tz: str) -> dt.datetime:
    """Exclusive upper bound: `to` is inclusive, so a date means its whole day."""
    if isinstance(value, dt.datetime):
        return value + dt.timedelta(microseconds=1)
    return dt.datetime.combine(value + dt.timedelta(days=1), dt.time.min, ZoneInfo(tz))


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000),
                          metadata={"description": "Page number, from 1"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200),
                              metadata={"description": "Rows per page, 1 to 200"})
    date_from = DateOrTimestamp(data_key="from", metadata={"description": "created_at on or after"})
    date_to = DateOrTimestamp(data_key="to", metadata={"description": "created_at on or before"})

    @validates_schema
    def _range(self, data: dict, **kwargs: Any) -> None:
        lo, hi = data.get("date_from"), data.get("date_to")
        if lo is not None and hi is not None and day_start(lo, "UTC") > day_start(hi, "UTC"):
            raise ValidationError("Must not be after 'to'.", field_name="from")


class Where:
    """A parameterised WHERE clause, built one filter at a time."""

    def __init__(self, shop_column: str, shop_id: Any):
        self.args: list[Any] = [shop_id]
        self.clauses: list[str] = [f"{shop_column} = $1"]

    def add(self, clause: str, value: Any) -> "Where":
        """`clause` holds `{}` where the value's placeholder goes."""
        self.args.append(value)
        self.clauses.append(clause.format(f"${len(self.args)}"))
        return self

    def dates(self, column: str, query: dict[str, Any], tz: str) -> "Where":
        if query.get("date_from") is not None:
            self.add(f"{column} >= {{}}", day_start(query["date_from"], tz))
        if query.get("date_to") is not None:
            self.add(f"{column} < {{}}", day_end(query["date_to"], tz))
        return self

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses)

    def next_placeholder(self, offset: int = 0) -> str:
        return f"${len(self.args) + 1 + offset}"


async def count(conn: asyncpg.Connection | asyncpg.Pool, from_sql: str, where: Where) -> tuple[int, bool]:
    """Exact up to EXACT_COUNT_LIMIT matches, the planner's estimate above."""
    exact = await conn.fetchval(
        f"SELECT count(*) FROM (SELECT 1 FROM {from_sql} WHERE {where.sql} LIMIT {EXACT_COUNT_LIMIT + 1}) s",
        *where.args)
    if exact <= EXACT_COUNT_LIMIT:
        return exact, True
    plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {from_sql} WHERE {where.sql}", *where.args)
    if isinstance(plan, str):
        from shared_models.jsonutil import loads
        plan = loads(plan)
    estimate = int(plan[0]["Plan"]["Plan Rows"])
    return max(estimate, EXACT_COUNT_LIMIT + 1), False


async def page_and_count(conn: asyncpg.Connection | asyncpg.Pool, page_sql: str, page_args: list[Any],
                         from_sql: str, where: Where) -> tuple[list[asyncpg.Record], int, bool]:
    """A list's rows and count: on a pool, side by side on two connections
    (the latency of the slower, not of both)."""
    if isinstance(conn, asyncpg.Pool):
        rows, (total, exact) = await asyncio.gather(conn.fetch(page_sql, *page_args), count(conn, from_sql, where))
    else:
        rows = await conn.fetch(page_sql, *page_args)
        total, exact = await count(conn, from_sql, where)
    return rows, total, exact


def meta(page: int, per_page: int, total: int, exact: bool) -> dict[str, Any]:
    return {"page": page, "per_page": per_page, "total_count": total,
            "total_pages": math.ceil(total / per_page) if total else 0,
            "total_count_exact": exact}


def limit_offset(where: Where, page: int, per_page: int) -> tuple[str, list[Any]]:
    n = len(where.args)
    return f"LIMIT ${n + 1} OFFSET ${n + 2}", [*where.args, per_page, (page - 1) * per_page]
