"""What each report is: its description, columns and filters. GET
/back_in_stock/reports returns this; CSV headers and JSON rows use these
column names, in this order."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared_models.channels import CHANNELS_TEXT


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # integer | decimal | number | string | date | timestamp
    description: str


@dataclass(frozen=True)
class Report:
    name: str
    description: str
    columns: tuple[Column, ...]
    paginated: bool = False
    default_days: int | None = 30  # None: no default date limit

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


PERIOD = Column("period", "date", "First day of the period (day, ISO week starting Monday, or month) in the "
                                  "shop's timezone; edge periods only count days inside from..to")
CHANNEL = Column("channel", "string", CHANNELS_TEXT)

_BLOCKED = ("plan_limit", "channel_disabled", "optin_unconfirmed", "unsubscribed", "country_not_allowed",
            "sold_out", "not_published")

REPORTS: dict[str, Report] = {r.name: r for r in (
    Report("summary", "Totals for the period: signups, waiting, notified, conversions, conversion rate, "
                      "recovered revenue, alerts sent, and the plan's usage this month.", (
        Column("from", "date", "First day counted (shop timezone)"),
        Column("to", "date", "Last day counted (shop timezone)"),
        Column("signups", "integer", "Signups created in the period"),
        Column("pending", "integer", "Of those, still waiting (never alerted, not unsubscribed, confirmed "
                                     "where opt-in is required)"),
        Column("notified", "integer", "Of those, alerted at least once"),
        Column("converted", "integer", "Of the notified, those with an attributed order"),
        Column("alerts_sent", "integer", "Alerts sent (status sent) created in the period"),
        Column("conversions", "integer", "Attributed orders placed in the period (each order once)"),
        Column("conversion_rate", "number", "converted / notified, 0..1 (4 decimals)"),
        Column("recovered_revenue", "decimal", "Attributed lines' total, after discounts, of those orders"),
        Column("currency", "string", "The shop's currency"),
        Column("plan_name", "string", "The shop's plan (JSON: plan.name)"),
        Column("plan_limit", "integer", "Alerts a calendar month, empty when unlimited (JSON: plan.limit)"),
        Column("plan_used", "integer", "Alerts sent this calendar month (JSON: plan.used)"),
        Column("plan_resets_at", "timestamp", "When the month's allowance resets (JSON: plan.resets_at)"),
    )),
    Report("signups", "New signups per period and channel, split by what became of them.", (
        PERIOD, CHANNEL,
        Column("signups", "integer", "Signups created in the period"),
        Column("pending", "integer", "Of those, still waiting"),
        Column("notified", "integer", "Of those, alerted at least once (converted included)"),
        Column("converted", "integer", "Of those, alerted and with an attributed order"),
        Column("unsubscribed", "integer", "Of those, unsubscribed before any alert"),
        Column("awaiting_optin", "integer", "Of those, not alerted and still to confirm their opt-in"),
    )),
    Report("notifications", "Delivery attempts per period and channel by status, blocked ones by reason, "
                            "and the click rate.", (
        PERIOD, CHANNEL,
        Column("attempts", "integer", "Attempts created in the period (every status)"),
        Column("sent", "integer", "Attempts sent"),
        Column("failed", "integer", "Attempts the provider refused or that failed"),
        Column("sending", "integer", "Attempts handed to a provider, outcome not yet recorded"),
        Column("blocked", "integer", "Attempts blocked (never handed to a provider)"),
        *(Column(f"blocked_{r}", "integer", f"Attempts blocked for {r}") for r in _BLOCKED),
        Column("clicked", "integer", "Attempts whose link was clicked"),
        Column("click_rate", "number", "clicked / sent, 0..1 (4 decimals)"),
    )),
    Report("conversions", "Attributed orders and revenue per period and product, by confidence "
                          "(high: came through our link; medium: same customer).", (
        PERIOD,
        Column("shopify_product_id", "integer", "Product of the attributed lines"),
        Column("product_title", "string", "The product's title from the catalog"),
        Column("confidence", "string", "high or medium"),
        Column("orders", "integer", "Orders with an attributed line of this product"),
        Column("units", "integer", "Attributed units"),
        Column("revenue", "decimal", "Attributed lines' total after discounts"),
        Column("currency", "string", "The shop's currency"),
    )),
    Report("products_in_demand", "Variants ranked by waiting signups.", (
        Column("shopify_variant_id", "integer", "Variant"),
        Column("shopify_product_id", "integer", "Its product"),
        Column("shopify_inventory_item_id", "integer", "Its inventory item (empty when unknown)"),
        Column("title", "string", "Product - variant title"),
        Column("total", "integer", "Signups (every status)"),
        Column("pending", "integer", "Signups waiting"),
        Column("last_requested_at", "timestamp", "Latest signup"),
    ), paginated=True, default_days=None),
)}

FILTERS: dict[str, str] = {
    "from": "First day (YYYY-MM-DD, or a timestamp: its day in the shop's timezone). Default: 29 days "
            "before 'to'; products_in_demand: no limit",
    "to": "Last day, inclusive (YYYY-MM-DD or timestamp). Default: today in the shop's timezone",
    "variant_id": "Only this Shopify variant",
    "product_id": "Only this Shopify product",
    "channel": CHANNELS_TEXT,
    "granularity": "day (default), week or month: the period of time series; validated everywhere",
    "format": "json (default) or csv; 'Accept: text/csv' also selects CSV",
    "bom": "true: the CSV starts with a UTF-8 byte order mark, so that Excel reads accents right "
           "when the file is opened by double-click (default false; JSON ignores it)",
}
DEMAND_FILTERS: dict[str, str] = {
    "sort": "pending (default), total or last_requested_at; all descending, then by variant id",
    "page": "Page, from 1 (JSON only: CSV has every row)",
    "per_page": "Rows per page, 1 to 200 (JSON only)",
}


def report_filters(report: Report) -> dict[str, str]:
    return {**FILTERS, **(DEMAND_FILTERS if report.paginated else {})}


def manifest() -> dict[str, Any]:
    return {"reports": [
        {"name": r.name, "description": r.description,
         "columns": [{"name": c.name, "type": c.type, "description": c.description} for c in r.columns],
         "filters": [{"name": k, "description": v} for k, v in report_filters(r).items()]}
        for r in REPORTS.values()
    ]}
