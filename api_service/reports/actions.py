"""The reports actions, as the registry declares them (built in the reports issue)."""
from marshmallow import Schema, fields, validate

from api_service.pending import not_implemented
from api_service.registry import Action

REPORTS = {
    "summary": "Totals: signups, waiting, notified, conversions, conversion rate, revenue, plan usage.",
    "signups": "New signups per period, split pending/notified, by channel.",
    "notifications": "Attempts per period by channel and status, blocked by reason, click rate.",
    "conversions": "Attributed orders and revenue per period and per product, with confidence.",
    "products_in_demand": "Variants ranked by waiting signups.",
}


class ReportQuery(Schema):
    date_from = fields.String(data_key="from")
    date_to = fields.String(data_key="to")
    variant_id = fields.Integer(validate=validate.Range(min=1))
    product_id = fields.Integer(validate=validate.Range(min=1))
    channel = fields.String(validate=validate.OneOf(("email", "sms", "push")))
    granularity = fields.String(validate=validate.OneOf(("day", "week", "month")))
    format = fields.String(validate=validate.OneOf(("json", "csv")))


ACTIONS = [
    Action(
        name="back_in_stock_reports_list",
        method="GET",
        path="/back_in_stock/reports",
        handler=not_implemented,
        description="List the reports with their columns and filters.",
        resource="Report",
    ),
    *[
        Action(
            name=f"back_in_stock_reports_{name}",
            method="GET",
            path=f"/back_in_stock/reports/{name}",
            handler=not_implemented,
            description=description,
            resource="Report",
            query_schema=ReportQuery,
        )
        for name, description in REPORTS.items()
    ],
]
