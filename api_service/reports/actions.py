"""The reports actions, as the registry declares them."""
from __future__ import annotations

from api_service.registry import Action, V1Alias
from api_service.reports import handlers, schemas
from api_service.reports.manifest import REPORTS
from api_service.v1 import demand as v1_demand, schemas as v1_schemas

COMMON_NOTES = (
    "Periods are days in the shop's timezone: from/to select whole days (a timestamp selects its day); "
    "default the last 30 days, today included. format=csv or 'Accept: text/csv' streams the same rows as "
    "CSV (header row first, constant memory, attachment named <report>-<from>-<to>.csv; a cell starting "
    "with =, +, -, @, tab or CR gets a leading '). Unknown or bad parameters: 422. Counts come from "
    "rollups maintained as rows change."
)
NOTES = {
    "summary": "Cohort totals: signups created in the period and, of them, pending (waiting), notified "
               "(alerted at least once) and converted (alerted, then an attributed order). "
               "conversion_rate = converted / notified. conversions and recovered_revenue are the "
               "attributed orders placed in the period (each order once; a cancelled order none) and their "
               "attributed lines' total after discounts, in the shop's currency. alerts_sent: sent attempts "
               "created in the period. plan is this calendar month's usage (unfiltered). CSV: one row, "
               "plan flattened to plan_name, plan_limit, plan_used, plan_resets_at.",
    "signups": "One row per period and channel with signups created in it; columns split them by what "
               "became of them (pending + notified + unsubscribed + awaiting_optin = signups). Periods "
               "without signups are left out; rows are oldest first.",
    "notifications": "One row per period and channel with attempts created in it. click_rate = clicked / "
                     "sent. Periods without attempts are left out; rows are oldest first.",
    "conversions": "One row per period, product and confidence. An order line counts when its variant's "
                   "latest sent alert within the 7 days before the order qualifies: high when the order's "
                   "landing_site or note_attributes carry utm_source=back_in_stock (the alert named by "
                   "utm_content when it is one of the variant's; else the buyer's latest; else the "
                   "variant's latest), medium when the alert went to the same customer (email, "
                   "case-insensitive, or Shopify customer id). Anything else is not counted. channel filters "
                   "on the alert's channel.",
    "products_in_demand": "Variants with signups, by pending (default), total or last_requested_at, all "
                          "descending, then by variant id. No default date limit: without from/to the "
                          "counts are all-time; with them, signups created on those days. channel counts "
                          "that channel's signups only. JSON is paginated (page, per_page); CSV has every "
                          "row.",
}

# The v1 call a report also serves (api_service/v1 adapts the shapes).
V1 = {"products_in_demand": V1Alias(
    "GET", "/intents/products_in_demand", "v1_intents_products_in_demand", v1_demand.products_in_demand,
    "Variants ranked by waiting intents: {products, meta}; per_page up to 500.",
    query_schema=v1_schemas.V1DemandQuery)}

# Action names written out, so that grepping a name from /help finds its declaration.
ACTION_NAMES = {
    "summary": "back_in_stock_reports_summary",
    "signups": "back_in_stock_reports_signups",
    "notifications": "back_in_stock_reports_notifications",
    "conversions": "back_in_stock_reports_conversions",
    "products_in_demand": "back_in_stock_reports_products_in_demand",
}

ACTIONS = [
    Action(
        name="back_in_stock_reports_list",
        method="GET",
        path="/back_in_stock/reports",
        handler=handlers.list_reports,
        description="List the reports with their columns and filters.",
        resource="Report",
        query_schema=schemas.ListQuery,
    ),
    *[
        Action(
            name=ACTION_NAMES[name],
            method="GET",
            path=f"/back_in_stock/reports/{name}",
            handler=handlers.HANDLERS[name],
            description=report.description,
            notes=NOTES[name] + " " + COMMON_NOTES,
            resource="Report",
            query_schema=schemas.DemandQuery if report.paginated else schemas.ReportQuery,
            formats=("json", "csv"),
            v1=V1.get(name),
        )
        for name, report in REPORTS.items()
    ],
]
