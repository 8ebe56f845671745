"""JSON or CSV. CSV is PostgreSQL's own COPY output, streamed chunk by chunk
to the client: asyncpg reads the next chunk only once the previous one is
written (and aiohttp's write waits for the socket), so memory stays flat
whatever the size. Cells a spreadsheet would run as formulas are neutralised
in SQL (report_csv_cell) before COPY sees them."""
from __future__ import annotations

import asyncio
import csv
import io
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
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
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


def neutralise(value: Any) -> str:
    """A cell as COPY writes it (float8 1.0 is "1"), with formulas neutralised."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


async def single_row_csv(call: Call, row: dict[str, Any], columns: list[str], filename: str
                         ) -> web.StreamResponse:
    """A one-row report (summary): the same CSV dialect as COPY's, written here."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow([neutralise(row[c]) for c in columns])
    response = _csv_response(filename)
    assert call.request is not None
    await response.prepare(call.request)
    await response.write(_bom(call) + buffer.getvalue().encode())
    await response.write_eof()
    return response
