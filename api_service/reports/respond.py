"""JSON or CSV. Every CSV is PostgreSQL's own COPY output, streamed chunk by
chunk to the client: asyncpg reads the next chunk only once the previous one
is written (and aiohttp's write waits for the socket), so memory stays flat
whatever the size. Cells a spreadsheet would run as formulas are neutralised
by one rule, in SQL (sql/functions/report_csv_cell.sql), before COPY sees
them: csv_query applies it to every text column, the one-row summary's
included (one_row_query), so no CSV is written or escaped in Python."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from aiohttp import web

from api_service.context import Call
from api_service.reports.export_slots import EXPORT_SLOTS
from api_service.reports.manifest import Column
from shared_models import rollups

log = logging.getLogger("backinstock.reports")

EXPORT_SETTINGS = "SET LOCAL jit = off; SET LOCAL work_mem = '32MB'"  # big exports sort in memory
COPY_TIMEOUT = 3600.0  # seconds for one export; the pool's 30 s command timeout would cut big ones
BOM = "\ufeff".encode()  # Excel reads a double-clicked CSV as UTF-8 only with it


def _bom(call: Call) -> bytes:
    return BOM if call.query.get("bom") else b""


def wants_csv(call: Call) -> bool:
    """Negotiated by run_action among the action's declared formats."""
    return call.output_format == "csv"


def _header(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def csv_query(sql: str, columns: list[Column]) -> str:
    """`sql`'s rows in the report's column order, text cells neutralised. Only text can
    start with a formula character: the other columns are ids, counts, money and rates
    (never negative), dates and timestamps, which start with a digit."""
    cells = ", ".join(
        f"report_csv_cell(q.{_header(c.name)}) AS {_header(c.name)}" if c.type == "string"
        else f"q.{_header(c.name)}" for c in columns)
    return f"SELECT {cells} FROM ({sql}) q"


def _csv_response(filename: str) -> web.StreamResponse:
    return web.StreamResponse(status=200, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })


class ExportStalled(ConnectionError):
    """The client stopped reading: the export is cut, its connection released."""


async def stream_csv(call: Call, sql: str, args: list[Any], columns: list[Column], filename: str
                     ) -> web.StreamResponse:
    request = call.request
    assert request is not None
    response = _csv_response(filename)
    started = False

    stall = call.conns.config.export_stall_seconds or None  # 0: no limit

    async def sink(chunk: bytes) -> None:
        nonlocal started
        if not started:  # headers go out with the first bytes: an error before that is a normal 5xx
            await response.prepare(request)
            started = True
            chunk = _bom(call) + chunk
        # write() waits while the socket's buffers are full: a client that stops
        # reading would hold the connection (and its COPY) for as long as it likes.
        try:
            await asyncio.wait_for(response.write(chunk), stall)
        except TimeoutError:
            raise ExportStalled(f"the client read nothing for {stall} s") from None

    with request.app[EXPORT_SLOTS].slot(call.shop.shop_id):  # 429 above a cap, before any connection
        try:
            async with call.pool.acquire() as conn:
                await rollups.fold(conn, call.shop.shop_id)
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    await conn.execute(EXPORT_SETTINGS)
                    await conn.copy_from_query(csv_query(sql, columns), *args, output=sink, format="csv",
                                               header=True, timeout=COPY_TIMEOUT)
        except (ConnectionError, asyncpg.PostgresError, OSError) as exc:
            if not started:
                raise
            # The status line is gone; a truncated chunked body tells the client.
            log.warning("CSV export %s stopped after it started: %s", filename, exc)
            if request.transport is not None:
                request.transport.close()
            return response
        if not started:
            await response.prepare(request)
        try:
            await asyncio.wait_for(response.write_eof(), stall)
        except (TimeoutError, ConnectionError, OSError) as exc:  # the client gone or not reading
            log.warning("CSV export %s not finished: %s", filename, type(exc).__name__)
            if request.transport is not None:
                request.transport.close()
    return response


# A one-row report's values as parameters, typed as its JSON has them (dates,
# timestamps and money arrive formatted, as text).
PARAMETER_TYPES = {"integer": "bigint", "number": "float8", "decimal": "text", "string": "text", "date": "text",
                   "timestamp": "text"}


def one_row_query(row: dict[str, Any], columns: list[Column]) -> tuple[str, list[Any]]:
    """A row computed here (the summary) as a query, so that it goes through
    csv_query and COPY like every other report."""
    cells = ", ".join(f"${i}::{PARAMETER_TYPES[c.type]} AS {_header(c.name)}" for i, c in enumerate(columns, 1))
    return f"SELECT {cells}", [row[c.name] for c in columns]


async def single_row_csv(call: Call, row: dict[str, Any], columns: list[Column], filename: str
                         ) -> web.StreamResponse:
    """A one-row report (summary), as every CSV: through csv_query and COPY."""
    sql, args = one_row_query(row, columns)
    return await stream_csv(call, sql, args, columns, filename)
