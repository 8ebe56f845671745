"""CSV cell escaping has one owner: report_csv_cell() in SQL
(sql/functions/report_csv_cell.sql), applied by respond.csv_query to every text
column of every report on its way through COPY, the one-row summary's too.
Python neither writes nor escapes a CSV cell."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

from api_service.reports.manifest import REPORTS
from tests.report_support import report, signup

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tTAB", "\rCR"]
HARMLESS = ['Plain, "quoted"', "a=b"]
HOSTILE_CURRENCY = "=1+1"
PERIOD = "2026-01-05"  # a day for the rows written straight into the rollups
# Rows only the dispatcher and the order webhooks write, with hostile text
# where the reports show text: channels of rollup rows, an attributed order.
ROLLUP_ROWS = """
INSERT INTO report_signups_daily (shop_id, variant_id, product_id, day, channel, state, signups)
SELECT $1, 0, 0, $2, c, 'pending', 1 FROM unnest($3::text[]) c;
INSERT INTO report_notifications_daily (shop_id, variant_id, product_id, day, channel, status, blocked_reason,
                                        attempts, clicked)
SELECT $1, 0, 0, $2, c, 'sent', '', 1, 0 FROM unnest($3::text[]) c;
"""
ORDER = "INSERT INTO orders (shop_id, order_id, ordered_at) VALUES ($1, 77, $2::timestamptz)"
ATTRIBUTION = """
INSERT INTO order_attributions (shop_id, order_id, line_id, variant_id, product_id, quantity, revenue,
                                notification_id, signup_id, channel, confidence, ordered_at)
VALUES ($1, 77, 1, 4101, 9101, 1, 10, gen_random_uuid(), $2::uuid, 'email', 'high', $3)
"""


def cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def _csv(api, name: str, **params: str) -> list[dict[str, str]]:
    status, text, resp = await api.get(f"/back_in_stock/reports/{name}", params={"format": "csv", **params})
    assert status == 200 and resp.headers["Content-Type"] == "text/csv; charset=utf-8", text
    return cells(text)


async def test_rule_csv_cell_escaping_has_one_owner(api, pool, shop, repo_root):
    texts = HOSTILE + HARMLESS
    ids = [await signup(api, shop, variant_id=4101 + i, product_id=9101, item=8101 + i, email=f"v{i}@example.com",
                        title=title) for i, title in enumerate(texts)]
    await pool.execute("UPDATE shops SET currency = $2 WHERE shop_id = $1", shop.shop_id, HOSTILE_CURRENCY)
    day = dt.date.fromisoformat(PERIOD)
    ordered = dt.datetime.combine(day, dt.time(12), dt.timezone.utc)
    async with pool.acquire() as conn:
        await conn.execute(ORDER, shop.shop_id, ordered)
        await conn.execute(ATTRIBUTION, shop.shop_id, ids[0], ordered)
        for statement in ROLLUP_ROWS.strip().split(";\n"):
            await conn.execute(statement, shop.shop_id, day, HOSTILE)
    period = {"from": PERIOD, "to": PERIOD}
    seen: dict[str, list[str]] = {}
    for name, params in [("summary", {}), ("signups", period), ("notifications", period),
                         ("conversions", period), ("products_in_demand", {})]:
        rows = await _csv(api, name, **params)
        text_columns = [c.name for c in REPORTS[name].columns if c.type == "string"]
        for row in rows:
            # No cell of any column starts as a formula would.
            assert not [v for v in row.values() if v.startswith(FORMULA_STARTS)], (name, row)
            for column in text_columns:
                seen.setdefault(name, []).append(row[column])
    # Each report's hostile text arrived once quoted, harmless text untouched.
    quoted = ["'" + t for t in HOSTILE]
    assert seen["summary"] == ["'" + HOSTILE_CURRENCY, "free"]
    assert sorted(seen["signups"]) == sorted(quoted)
    assert sorted(seen["notifications"]) == sorted(quoted)
    assert seen["conversions"] == ["'" + HOSTILE[0], "high", "'" + HOSTILE_CURRENCY]  # title, confidence, currency
    assert sorted(seen["products_in_demand"]) == sorted(
        [f"{q} - M / Blue" for q in quoted] + [f"{t} - M / Blue" for t in HARMLESS])
    # JSON is data, not a spreadsheet: never quoted.
    demand = (await report(api, "products_in_demand"))["products_in_demand"]
    assert sorted(r["title"] for r in demand) == sorted(f"{t} - M / Blue" for t in texts)
    assert (await report(api, "summary"))["currency"] == HOSTILE_CURRENCY
    # One owner: no list of formula characters in the Python code.
    copies = [str(p.relative_to(repo_root)) for package in ("api_service", "dispatcher", "shared_models")
              for p in (repo_root / package).rglob("*.py")
              if re.search(r"""["']=["'],\s*["']\+["'],\s*["']-["'],\s*["']@["']""", p.read_text())]
    assert copies == []
